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


@dataclass(frozen=True)
class Sample:
    key: str  # "<dataset>/<relative file>", unique
    dataset: str  # "rsna" | "mias"
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


def load_folder(folder: Path) -> list[Sample]:
    """Samples of a folder laid out like one of the two data sets."""
    folder = Path(folder)
    if (folder / "labels.csv").is_file():
        return load_rsna(folder)
    if (folder / "labels_per_image.csv").is_file():
        return load_mias(folder)
    raise DatasetError(
        f"{folder} is not laid out like a known data set: expected labels.csv (RSNA layout) "
        "or labels_per_image.csv (mini-MIAS layout)."
    )
