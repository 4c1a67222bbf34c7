"""Puts an exam's pictures into the hanging: opens each on a worker, keeps the last few
opened, and says in each cell why it shows nothing (waiting, reading, not readable).

The exam shown is told again whenever the worklist changes (an image read, a regrouping):
only the pictures whose reading changed are opened again, so a batch filling in the exam on
screen does not reload the cells already shown.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, Slot

from app import jobs
from app.exam_entries import FAILED, ExamEntry, RowStatus, WorklistRow, describe_image
from app.hanging_viewer import HangingViewer
from app.worker import JobPools, Worker
from core.exams import chest_wall_for, hang

CACHE_SIZE = 8  # display copies are at most 2048 px a side: ~8 MB each
WAITING = {RowStatus.QUEUED: "Waiting to be read…", RowStatus.RUNNING: "Reading…",
           RowStatus.CANCELLED: "Not read: the batch was cancelled."}


class HangingController(QObject):
    """Feeds one :class:`HangingViewer` from worklist entries."""

    def __init__(self, hanging: HangingViewer, *, pools: JobPools, limits: jobs.Limits,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hanging = hanging
        self._pools = pools
        self._limits = limits
        self._entry: ExamEntry | None = None
        self._shown: dict[str, tuple[object, ...]] = {}  # path -> what its cell was given
        self._jobs: dict[str, Worker] = {}
        self._cache: OrderedDict[tuple[object, ...], jobs.ViewData] = OrderedDict()
        hanging.active_changed.connect(self._on_active_changed)

    @property
    def entry(self) -> ExamEntry | None:
        return self._entry

    def show_exam(self, entry: ExamEntry | None, *, focus: str | None = None) -> None:
        """Hang ``entry`` (None: clear), making ``focus`` the active image; an exam already
        shown is only brought up to date."""
        previous = self._entry
        self._entry = entry
        if entry is None:
            self._cancel_all()
            self._hanging.set_exam(None, captions={})
            return
        failed = frozenset(r.path for r in entry.rows if r.status in FAILED)
        hanging = hang(entry.exam, skip=failed)
        captions = {r.path: _caption(entry, r) for r in entry.rows}
        same = (previous is not None and previous.id == entry.id
                and self._hanging.hanging == hanging)
        if same:
            self._hanging.update_captions(captions)
            if focus is not None:
                self._hanging.set_active(focus)
        else:
            self._cancel_all()
            self._shown = {}
            active = self._hanging.active_path if previous is not None and \
                previous.id == entry.id else None
            first = entry.rows[0].path if entry.rows else None  # a failed image comes last
            self._hanging.set_exam(hanging, captions=captions, focus=focus or active or first)
        for row in entry.rows:
            if hanging.position_of(row.path) is not None or row.path == self._hanging.active_path:
                self._update_cell(row)

    def _update_cell(self, row: WorklistRow) -> None:
        key = _key(row)
        if self._shown.get(row.path) == key:
            return  # nothing new about it
        if row.status in WAITING or row.status == RowStatus.ERROR:
            self._shown[row.path] = key
            self._hanging.set_cell_message(row.path, WAITING.get(
                row.status, f"Not read: {row.error}"))
            return
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self._show(row, key, cached)
            return
        if row.path in self._jobs:
            self._jobs.pop(row.path).cancel()
        image = self._entry.exam.image(row.path) if self._entry is not None else None
        side = chest_wall_for(image.laterality) if image is not None else None
        worker = Worker(jobs.load_view_job(row.path, row.prediction, limits=self._limits,
                                           chest_wall=side), name="open image")
        worker.signals.result.connect(lambda data, r=row, k=key: self._on_loaded(r, k, data))
        worker.signals.error.connect(lambda error, r=row: self._on_failed(r, error))
        self._jobs[row.path] = worker
        self._shown[row.path] = key
        self._pools.start(worker, pool=self._pools.io)

    def _on_loaded(self, row: WorklistRow, key: tuple[object, ...], data: jobs.ViewData
                   ) -> None:
        if self._jobs.get(row.path) is not None and self._jobs[row.path].cancelled:
            return
        self._jobs.pop(row.path, None)
        self._cache[key] = data
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if self._shown.get(row.path) == key:  # a late answer for another reading: dropped
            self._show(row, key, data)

    def _show(self, row: WorklistRow, key: tuple[object, ...], data: jobs.ViewData) -> None:
        self._shown[row.path] = key
        self._hanging.set_picture(row.path, data.display, heatmap=data.heatmap, peak=row.peak)

    def _on_failed(self, row: WorklistRow, error: BaseException) -> None:
        self._jobs.pop(row.path, None)
        # Per-file problems are shown in place, never as a dialog per image.
        self._hanging.set_cell_message(row.path,
                                       f"Cannot show this image: {jobs.error_text(error)}")

    @Slot(object)
    def _on_active_changed(self, path: object) -> None:
        """An image that is not hung is shown on its own: open it."""
        if self._entry is None or not isinstance(path, str):
            return
        row = self._entry.row(path)
        if row is not None and self._hanging.active_viewer is self._hanging.single:
            self._shown.pop(path, None)
            self._update_cell(row)

    def _cancel_all(self) -> None:
        for worker in self._jobs.values():
            worker.cancel()
        self._jobs = {}


def _key(row: WorklistRow) -> tuple[object, ...]:
    """What a cell's picture depends on: the file, its status, and the reading or prediction
    (a re-score brings another heatmap)."""
    return (row.path, row.status, id(row.prediction),
            row.reading.id if row.reading is not None else None)


def _caption(entry: ExamEntry, row: WorklistRow) -> str:
    image = entry.exam.image(row.path)
    view = describe_image(image) if image is not None else ""
    return f"{view} · {Path(row.path).name}"
