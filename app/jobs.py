"""The work the window hands to workers: plain functions over core services (no Qt, no widgets).

Each ``*_job`` returns a :data:`app.worker.Job`; what it reports and returns are small frozen
records, never full-resolution pixels, so a 100-image batch does not pile up in memory.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.about_dialog import read_model_card
from app.charts import render_statistics_chart
from app.display_image import ChestWall, DisplayImage, make_display_image
from app.history_view import HistoryQuery
from app.settings_file import write_user_settings
from app.worker import Job, Report
from core.errors import ImageDecodeError, MammoError
from core.exams import Sidecar, read_sidecars
from core.imaging import ImageMeta, iter_image_paths, open_image
from core.inference.classifier import Prediction
from core.inference.preprocess import needs_inversion
from core.reading import ReadingService
from core.statistics import ReadingStatistics, summarize_readings
from core.store import (
    FeedbackRecord,
    ReadingId,
    ReadingRecord,
    StatedSide,
    Store,
    SyncConflictRecord,
    UserId,
)

if TYPE_CHECKING:
    from app.sync_backend import SyncBackend

HEATMAP_MAX_SIDE = 1024
WORKLIST_LIMIT = 200
STATS_LIMIT = 100_000


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class BatchPlanned:
    """The files a batch will read, folders expanded (reported first), with their folders'
    ``exam.json`` and what was wrong with any that could not be read."""

    paths: list[str]
    sidecars: dict[Path, Sidecar] = field(default_factory=dict)
    sidecar_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileDone:
    """One file's outcome. ``scored`` is False when no model is installed; ``already_read``
    when the reader had read this picture before and ``reading`` is that earlier reading.
    ``facts``: what the file says about its exam; ``stated``: the side and view a reader
    said this picture shows, when one did."""

    path: str
    reading: ReadingRecord | None
    prediction: Prediction | None
    error: str | None
    scored: bool
    already_read: bool = False
    facts: ImageMeta | None = None
    stated: StatedSide | None = None


@dataclass(frozen=True)
class ViewData:
    path: str
    display: DisplayImage
    heatmap: np.ndarray | None


def error_text(error: BaseException | None) -> str | None:
    """A per-file error as the worklist shows it."""
    if error is None:
        return None
    if isinstance(error, ImageDecodeError):
        return error.reason
    if isinstance(error, MammoError):
        return error.message
    return "unexpected error; see the log"


def _expand(paths: list[str]) -> list[str]:
    return [os.path.abspath(p) for p in iter_image_paths(paths)]


def _planned(files: list[str]) -> BatchPlanned:
    """The batch's files with their folders' ``exam.json`` (a broken one is named, and its
    folder grouped as if it had none)."""
    folders = dict.fromkeys(Path(f).parent for f in files)
    sidecars, problems = read_sidecars(folders)
    return BatchPlanned(files, sidecars, tuple(p.message for p in problems))


def _stated(store: Store | None, meta: ImageMeta | None) -> StatedSide | None:
    if store is None or meta is None:
        return None
    return store.image_sides.stated([meta.pixel_sha256]).get(meta.pixel_sha256)


def read_batch_job(service: ReadingService, paths: list[str], *, user_id: UserId,
                   rescore: bool = False, store: Store | None = None) -> Job:
    """Read files with the model; each reading is committed before it is reported.

    A picture the reader already read is not scored again: its earlier reading is reported.
    With ``rescore`` every file is scored, and a new reading names the earlier one. With
    ``store``, each file comes with the side and view a reader said it shows, if any.
    """

    def job(cancel: threading.Event, report: Report) -> int:
        files = _expand(paths)
        report(_planned(files))
        count = 0
        for outcome in service.read(files, user_id=user_id, cancel=cancel,
                                    reuse_earlier=not rescore):
            meta = outcome.image.meta if outcome.image is not None else None
            report(FileDone(path=str(outcome.path), reading=outcome.reading,
                            prediction=outcome.prediction, error=error_text(outcome.error),
                            scored=True, already_read=outcome.already_read, facts=meta,
                            stated=_stated(store, meta)))
            count += 1
        return count

    return job


def open_batch_job(paths: list[str], *, limits: Limits, store: Store | None = None) -> Job:
    """Without a model: check that each file opens, so it can be viewed; nothing is scored."""

    def job(cancel: threading.Event, report: Report) -> int:
        files = _expand(paths)
        report(_planned(files))
        for count, path in enumerate(files):
            if cancel.is_set():
                return count
            meta = None
            try:
                meta = open_image(path, max_file_bytes=limits.max_file_bytes,
                                  max_pixels=limits.max_pixels).meta
                error = None
            except ImageDecodeError as exc:
                error = error_text(exc)
            report(FileDone(path=path, reading=None, prediction=None, error=error,
                            scored=False, facts=meta, stated=_stated(store, meta)))
        return len(files)

    return job


def load_view_job(path: str, prediction: Prediction | None, *, limits: Limits,
                  chest_wall: ChestWall | None = None) -> Job:
    """Open a file and make its display copy and, when there is a prediction, its heatmap.

    The copy is marked negative by the very rule the model's preprocessing inverts by, so the
    radiologist sees the polarity the model read. With ``chest_wall`` (the hanging's side for
    this breast) the copy and its heatmap are mirrored where the picture faces the other way.
    """

    def job(cancel: threading.Event, _report: Report) -> ViewData:
        image = open_image(path, max_file_bytes=limits.max_file_bytes,
                           max_pixels=limits.max_pixels)
        display = make_display_image(image.pixels, negative=needs_inversion(image.pixels),
                                     intensity=image.intensity, chest_wall=chest_wall)
        heatmap = (prediction.heatmap_on_image(max_side=HEATMAP_MAX_SIDE)
                   if prediction is not None else None)
        if heatmap is not None and display.mirrored:
            heatmap = np.ascontiguousarray(heatmap[:, ::-1])
        return ViewData(path=path, display=display, heatmap=heatmap)

    return job


@dataclass(frozen=True)
class Stored:
    """Readings from the store, with the side and view a reader said each picture shows
    (by source path; pictures never asked about are left out)."""

    readings: list[ReadingRecord]
    stated: dict[str, StatedSide]


def stored_readings(store: Store, readings: list[ReadingRecord]) -> Stored:
    stated = store.image_sides.stated({r.pixel_sha256 for r in readings})
    return Stored(readings, {r.source_path: stated[r.pixel_sha256] for r in readings
                             if r.pixel_sha256 in stated})


def recent_readings_job(store: Store, *, user_id: UserId) -> Job:
    return lambda _cancel, _report: stored_readings(
        store, store.list_readings(limit=WORKLIST_LIMIT, user_id=user_id))


def state_side_job(store: Store, pixel_sha256: str, *, laterality: str | None,
                   view: str | None, user_id: UserId) -> Job:
    """Keep the side and view the reader said a picture shows (asked once)."""
    return lambda _cancel, _report: store.image_sides.state(
        pixel_sha256, laterality=laterality, view=view, user_id=user_id)


@dataclass(frozen=True)
class History:
    reading_id: ReadingId
    decisions: list[FeedbackRecord]


def feedback_history_job(store: Store, reading_id: ReadingId) -> Job:
    return lambda _cancel, _report: History(reading_id, store.feedback_history(reading_id))


@dataclass(frozen=True)
class Signed:
    reading: ReadingRecord
    history: list[FeedbackRecord]


def sign_decision_job(store: Store, *, user_id: UserId, reading_id: ReadingId,
                      agrees_with_model: bool, birads: int | None, note: str,
                      amends_id: str | None) -> Job:
    """Sign a decision (an amendment when ``amends_id`` is given) and read the result back."""

    def job(_cancel: threading.Event, _report: Report) -> Signed:
        store.add_feedback(reading_id=reading_id, user_id=user_id,
                           agrees_with_model=agrees_with_model, birads=birads, note=note,
                           amends_id=amends_id)  # type: ignore[arg-type]
        reading = store.get_reading(reading_id)
        if reading is None:  # pragma: no cover - readings are never deleted
            raise MammoError("The reading disappeared from the local store.")
        return Signed(reading=reading, history=store.feedback_history(reading_id))

    return job


@dataclass(frozen=True)
class Found:
    query: HistoryQuery
    readings: list[ReadingRecord]


def history_job(store: Store, query: HistoryQuery) -> Job:
    return lambda _cancel, _report: Found(query, store.list_readings(
        limit=query.limit, label=query.label, since=query.since, text=query.text or None))


def statistics_job(store: Store) -> Job:
    def job(_cancel: threading.Event, _report: Report
            ) -> tuple[ReadingStatistics, np.ndarray | None]:
        stats = summarize_readings(store.list_readings(limit=STATS_LIMIT))
        return stats, render_statistics_chart(stats)

    return job


def model_card_job(folder: Path | None) -> Job:
    return lambda _cancel, _report: read_model_card(folder)


def save_settings_job(path: Path, changes: dict[str, str | None]) -> Job:
    return lambda _cancel, _report: write_user_settings(path, changes)


# Sync ------------------------------------------------------------------------------------


def sync_job(sync: SyncBackend) -> Job:
    """One sync pass; its report carries the status right after it."""
    return lambda cancel, _report: sync.sync_once(cancel)


def sync_status_job(sync: SyncBackend) -> Job:
    return lambda _cancel, _report: sync.status()


def refresh_readings_job(store: Store, reading_ids: list[ReadingId]) -> Job:
    """The readings read back from the store (their sync state changes when a sync ran)."""

    def job(cancel: threading.Event, _report: Report) -> list[ReadingRecord]:
        readings = []
        for reading_id in reading_ids:
            if cancel.is_set():
                break
            reading = store.get_reading(reading_id)
            if reading is not None:
                readings.append(reading)
        return readings

    return job


@dataclass(frozen=True)
class ConflictItem:
    """One open conflict and the file its reading is of (None when not on this workstation)."""

    conflict: SyncConflictRecord
    source_path: str | None


def conflicts_job(sync: SyncBackend, store: Store, *, resolve: int | None = None) -> Job:
    """The open conflicts; with ``resolve``, mark that one reviewed first (nothing is deleted)."""

    def job(_cancel: threading.Event, _report: Report) -> list[ConflictItem]:
        if resolve is not None:
            sync.resolve_conflict(resolve)
        items = []
        for conflict in sync.conflicts():
            reading = store.get_reading(conflict.reading_id)
            items.append(ConflictItem(conflict, None if reading is None else reading.source_path))
        return items

    return job
