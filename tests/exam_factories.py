"""Plain factories for exam-level app tests: a four-view exam on disk, as scanners store it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from core.exams import Exam, ExamId, ExamImage

VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))
SIZE = (240, 320)  # width, height


def breast_pixels(side: str, *, n: int = 0, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A grey picture: the breast against the edge where its chest wall is (a left breast on
    the picture's left, a right breast on its right, as most scanners store them) and a bright
    blob placed by ``n``."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    ellipse = ((xx / (0.7 * width)) ** 2 + ((yy - height / 2) / (0.45 * height)) ** 2) <= 1
    image = np.where(ellipse, 110.0, 8.0)
    cx, cy = 0.3 * width + (n * 13) % (width // 4), 0.35 * height + (n * 17) % (height // 4)
    image += 120 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 60.0) * ellipse
    image += n
    if side == "R":
        image = image[:, ::-1]
    return np.clip(image, 0, 255).astype(np.uint8)


def write_exam(folder: Path, *, name: str = "P7") -> Exam:
    """Four PNG views named ``<name>_<side>_<view>.png``, and the exam they form."""
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for n, (side, view) in enumerate(VIEWS):
        path = folder / f"{name}_{side}_{view}.png"
        Image.fromarray(breast_pixels(side, n=n)).save(path)
        images.append(ExamImage(path=str(path), laterality=side, view=view))  # type: ignore[arg-type]
    return Exam(id=ExamId(name), images=tuple(images), grouped_by="name",
                patient_id="PID-0042", patient_name="Doe^Jane", birth_date="1961-04-02",
                study_date="2026-11-30", accession="ACC-991")
