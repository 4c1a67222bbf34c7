"""Plain factory functions for store tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.store import ImageId, NewReading, Store, UserId

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeImageMeta:
    """The attributes of core.imaging.ImageMeta that the store reads."""

    source_path: str | Path
    pixel_sha256: str
    width: int = 3328
    height: int = 4084
    bit_depth: int = 12
    file_format: str = "dicom"
    laterality: str | None = "L"
    view_position: str | None = "CC"
    photometric: str | None = "MONOCHROME2"
    sop_instance_uid: str | None = "1.2.826.0.1.3680043.8.498.1"
    study_instance_uid: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    birth_date: str | None = None
    study_date: str | None = None
    accession_number: str | None = None
    manufacturer: str | None = None


class StepClock:
    """A clock that moves one second forward each time it is read."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(seconds=1)) -> None:
        self._ticks = itertools.count()
        self._start = start
        self._step = step

    def __call__(self) -> datetime:
        return self._start + next(self._ticks) * self._step


def make_image_meta(n: int = 1, **overrides: object) -> FakeImageMeta:
    values: dict[str, object] = {
        "source_path": f"/data/case{n:03d}/LCC.dcm",
        "pixel_sha256": f"{n:064x}",
    }
    values.update(overrides)
    return FakeImageMeta(**values)  # type: ignore[arg-type]


def make_new_reading(*, image_id: ImageId, user_id: UserId, **overrides: object) -> NewReading:
    values: dict[str, object] = {
        "image_id": image_id,
        "user_id": user_id,
        "score": 0.83,
        "label": "Positive",
        "threshold": 0.42,
        "model_id": "densenet121-mil-2024.05",
        "model_sha256": "e3" * 32,
        "engine": "onnx",
        "device": "cpu",
        "preprocessing_version": "pre-3",
        "app_version": "0.1.0",
        "heatmap_peak_x": 1520.5,
        "heatmap_peak_y": 2210.0,
    }
    values.update(overrides)
    return NewReading(**values)  # type: ignore[arg-type]


def add_reading(store: Store, *, n: int = 1, username: str = "alice", **overrides: object):
    """Store an image (number ``n``) and a reading of it by ``username``; return the record."""
    user_id = store.ensure_user(username)
    image_id = store.add_image(make_image_meta(n))
    return store.add_reading(make_new_reading(image_id=image_id, user_id=user_id, **overrides))
