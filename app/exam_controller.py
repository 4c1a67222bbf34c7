"""The reader's corrections to the exams: split, merge, and the side and view of an image,
asked once where neither the file nor its name tells.

The grouping itself is :mod:`core.exams`' (through the worklist model); here the reader is
asked, the answer applied, and a side said by hand kept in the store by picture, so that the
same picture opened again is hung where the reader put it. Each question is a small dialog
that does not block the window (a batch keeps reading meanwhile).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QWidget

from app import jobs
from app.errors import show_error
from app.merge_dialog import MergeDialog
from app.side_dialog import SideDialog
from app.split_dialog import SplitDialog
from app.worker import JobPools, Worker
from app.worklist_model import RowStatus, WorklistModel, WorklistRow
from core.errors import ExamError
from core.exams import ExamId
from core.imaging import ImageMeta
from core.store import Store, UserRecord


class ExamController(QObject):
    """Emits ``edited`` with a line for the status bar once an exam was changed."""

    edited = Signal(str)

    def __init__(self, model: WorklistModel, *, store: Store, user: UserRecord,
                 pools: JobPools, parent: QWidget) -> None:
        super().__init__(parent)
        self._model = model
        self._store = store
        self._user = user
        self._pools = pools
        self._window = parent
        self._asked: set[str] = set()  # images asked about this session (answered or not)

    # Asked by the worklist ----------------------------------------------------------------

    def request_split(self, exam_id: ExamId, paths: list[str]) -> None:
        """Split ``paths`` off at once, or ask which images when none are given."""
        if paths:
            self._split(exam_id, paths)
            return
        entry = self._model.entry(exam_id)
        if entry is None:
            return
        dialog = SplitDialog(entry, parent=self._window)
        dialog.accepted.connect(lambda: self._split(exam_id, dialog.chosen()))
        self._open(dialog)

    def request_merge(self, exam_id: ExamId) -> None:
        target = self._model.entry(exam_id)
        others = [e for e in self._model.entries() if e.id != exam_id]
        if target is None or not others:
            return
        dialog = MergeDialog(target, others, parent=self._window)
        dialog.accepted.connect(lambda: self._merge(exam_id, dialog.chosen()))
        self._open(dialog)

    def request_sides(self, paths: list[str]) -> None:
        """Ask for the side and view of these images (the reader chose to say them)."""
        images = [image for path in paths if (entry := self._model.entry_of(path)) is not None
                  and (image := entry.exam.image(path)) is not None]
        if images:
            self._asked.update(paths)
            dialog = SideDialog(images, parent=self._window)
            dialog.accepted.connect(lambda: self._apply_sides(dialog))
            self._open(dialog)

    def ask_unknown_sides(self, exam_id: ExamId) -> None:
        """Ask once about the exam's images whose side or view nothing tells."""
        paths = [p for p in self._model.unknown_paths(exam_id) if p not in self._asked]
        entry = self._model.entry(exam_id)
        if entry is None:
            return
        readable = {r.path for r in entry.rows
                    if r.status in (RowStatus.DONE, RowStatus.NOT_SCORED)}
        paths = [p for p in paths if p in readable]
        if paths:
            self.request_sides(paths)

    # Applying -----------------------------------------------------------------------------

    def _split(self, exam_id: ExamId, paths: list[str]) -> None:
        try:
            new_id = self._model.split(exam_id, paths)
        except ExamError as exc:
            show_error(self._window, exc)
            return
        self.edited.emit(f"{len(paths)} image(s) moved into a new exam ({new_id}).")

    def _merge(self, exam_id: ExamId, other: str | None) -> None:
        if other is None:
            return
        try:
            self._model.merge([exam_id, ExamId(other)])
        except ExamError as exc:
            show_error(self._window, exc)
            return
        self.edited.emit("Exams merged.")

    def _apply_sides(self, dialog: SideDialog) -> None:
        for path, (laterality, view) in dialog.answers().items():
            try:
                self._model.set_side(path, laterality=laterality, view=view)  # type: ignore[arg-type]
            except ExamError as exc:
                show_error(self._window, exc)
                return
            row = self._model.row_for(path)
            picture = _picture_of(row)
            if picture is not None:
                worker = Worker(jobs.state_side_job(self._store, picture, laterality=laterality,
                                                    view=view, user_id=self._user.id),
                                name="remember side")
                worker.signals.error.connect(lambda error: show_error(self._window, error))
                self._pools.start(worker, pool=self._pools.io)
        self.edited.emit("Sides and views saved; the exam is hung again.")

    def _open(self, dialog: QDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()


def _picture_of(row: WorklistRow | None) -> str | None:
    """The picture's pixel hash: from its reading, else from what opening it told."""
    if row is None:
        return None
    if row.reading is not None:
        return row.reading.pixel_sha256
    return row.facts.pixel_sha256 if isinstance(row.facts, ImageMeta) else None
