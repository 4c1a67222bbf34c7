"""Plain factories for the exam tests of the app: four-view DICOM studies and PNG sets on disk,
each picture with its breast against a known edge and a known brightness (the fake model's
score is the picture's mean brightness)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.core.imaging import factories as imaging

VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))
SIZE = (120, 160)  # width, height


def breast(*, wall: str, level: float, n: int = 0, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Floats in [0, 1]: a dark background and a half-ellipse of tissue against the ``wall``
    edge ("left" or "right") whose brightness grows with ``level``, plus a blob placed by
    ``n``."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    ellipse = ((xx / (0.75 * width)) ** 2 + ((yy - height / 2) / (0.45 * height)) ** 2) <= 1
    image = np.where(ellipse, 0.15 + 0.7 * level, 0.02)
    cx, cy = 0.25 * width + (n * 7) % (width // 5), 0.4 * height + (n * 11) % (height // 5)
    image = image + 0.1 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 30.0) * ellipse
    if wall == "right":
        image = image[:, ::-1]
    return np.clip(image, 0.0, 1.0)


def write_study(folder: Path, *, study_uid: str, patient_id: str, level: float,
                views: tuple[tuple[str, str], ...] = VIEWS, flipped: bool = False,
                **tags: str) -> dict[tuple[str, str], Path]:
    """A DICOM study, one 12-bit file per view (named by number, so only the tags tell side
    and view). Each breast lies against its chest-wall edge as scanners store it (right
    breast on the right edge), or against the other edge when ``flipped``. ``tags`` sets
    further keywords (PatientName, AccessionNumber, StudyDate...)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for n, (side, view) in enumerate(views):
        wall = "right" if (side == "R") != flipped else "left"
        pixels = np.round(breast(wall=wall, level=level, n=n) * 4095).astype(np.uint16)
        pixels[-3:, :3] = 4095  # a lead marker: the full range, so levels stay comparable
        ds = imaging.mammo_dataset(pixels)
        ds.StudyInstanceUID, ds.PatientID = study_uid, patient_id
        ds.ImageLaterality, ds.ViewPosition = side, view
        for keyword, value in tags.items():
            setattr(ds, keyword, value)
        written[(side, view)] = imaging.write_dicom(folder / f"IM{n:04d}.dcm", ds)
    return written


def write_png_set(folder: Path, *, name: str, level: float,
                  views: tuple[tuple[str, str], ...] = VIEWS) -> dict[tuple[str, str], Path]:
    """PNG views named ``<name>_<side>_<view>.png`` (one exam by the naming rule)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for n, (side, view) in enumerate(views):
        pixels = breast(wall="right" if side == "R" else "left", level=level, n=n)
        path = folder / f"{name}_{side}_{view}.png"
        Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(path)
        written[(side, view)] = path
    return written


def write_unnamed(folder: Path, count: int, *, level: float = 0.5) -> list[Path]:
    """PNGs whose names tell neither side nor view (``scan1.png``...): one folder exam."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"scan{n + 1}.png"
        pixels = breast(wall="left", level=level, n=n)
        Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths
