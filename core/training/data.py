"""Read the two development data sets (and folders laid out like them) into one sample list.

Layouts understood:
- RSNA screening subset: ``labels.csv`` with ``file, cancer, patient_id`` (paths relative to
  the folder). The label is cancer (1) or not (0).
- mini-MIAS: ``labels_per_image.csv`` with ``file, patient_id, malignant`` and optionally
  ``labels_per_roi.csv`` with ``file, severity, x, y_from_bottom, radius``. The label is
  malignant (1) or not (0); findings carry positions (converted to top-left origin here).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import MammoError


@dataclass(frozen=True)
class Finding:
    x: float  # original pixels, from the left
    y: float  # original pixels, from the top
    radius: float
    malignant: bool
    # Half width and height of a box (DDSM); a circle (mini-MIAS) has neither.
    half_w: float | None = None
    half_h: float | None = None


@dataclass(frozen=True)
class Sample:
    key: str  # "<dataset>/<relative file>", unique
    dataset: str  # "rsna" | "mias" | "ddsm"
    path: Path
    patient_id: str
    label: int
    findings: tuple[Finding, ...] = field(default_factory=tuple)


class DatasetError(MammoError):
    """A data folder is not laid out like one of the known data sets."""


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def load_rsna(folder: Path) -> list[Sample]:
    rows = _read_csv(folder / "labels.csv")
    return [
        Sample(key=f"rsna/{r['file']}", dataset="rsna", path=folder / r["file"],
               patient_id=f"rsna-{r['patient_id']}", label=int(r["cancer"]))
        for r in rows
    ]


def _mias_findings(folder: Path) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    roi = folder / "labels_per_roi.csv"
    if not roi.is_file():
        return found
    for r in _read_csv(roi):
        if not r.get("x") or not r.get("y_from_bottom") or not r.get("radius"):
            continue  # calcifications spread over the whole breast have no position
        # mini-MIAS images are 1024 pixels high and count y from the bottom.
        found.setdefault(r["file"], []).append(Finding(
            x=float(r["x"]), y=1024.0 - float(r["y_from_bottom"]), radius=float(r["radius"]),
            malignant=r.get("severity", "").strip().upper() == "M"))
    return found


def load_mias(folder: Path) -> list[Sample]:
    findings = _mias_findings(folder)
    return [
        Sample(key=f"mias/{r['file']}", dataset="mias", path=folder / r["file"],
               patient_id=str(r["patient_id"]), label=int(r["malignant"]),
               findings=tuple(findings.get(r["file"], ())))
        for r in _read_csv(folder / "labels_per_image.csv")
    ]


def load_ddsm(folder: Path) -> list[Sample]:
    """DDSM films with one lesion box each. Every image holds a lesion and there are no
    cancer-free DDSM images, so ``label`` is 1 ("holds a located lesion"), never to be read as an
    image-level cancer label (the model would learn "film = cancer")."""
    samples = []
    for r in _read_csv(folder / "boxes.csv"):
        x0, y0, x1, y1 = (float(r[k]) for k in ("x0", "y0", "x1", "y1"))
        box = Finding(x=(x0 + x1) / 2, y=(y0 + y1) / 2, radius=max(x1 - x0, y1 - y0) / 2,
                      malignant=r.get("case_pathology", "") == "Cancer",
                      half_w=(x1 - x0) / 2, half_h=(y1 - y0) / 2)
        samples.append(Sample(key=f"ddsm/{r['file']}", dataset="ddsm",
                              path=folder / "images" / r["file"],
                              patient_id=f"ddsm-{r['case_id']}", label=1, findings=(box,)))
    return samples


def load_folder(folder: Path) -> list[Sample]:
    """Samples of a folder laid out like one of the two data sets."""
    folder = Path(folder)
    if (folder / "labels.csv").is_file():
        return load_rsna(folder)
    if (folder / "labels_per_image.csv").is_file():
        return load_mias(folder)
    if (folder / "boxes.csv").is_file():
        return load_ddsm(folder)
    raise DatasetError(
        f"{folder} is not laid out like a known data set: expected labels.csv (RSNA layout), "
        "labels_per_image.csv (mini-MIAS layout) or boxes.csv (DDSM lesion boxes)."
    )
