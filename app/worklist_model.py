"""The worklist's tree model: exams at the top, their images below, in triage order.

Image rows are keyed by the file's absolute path; exams come from :class:`core.exams.
ExamRegister`, which regroups as files open (a DICOM file's study is known once it is read)
and keeps the reader's split, merge and side corrections. Changes are gathered and shown
together a moment later (:meth:`WorklistModel.flush` shows them at once), so a 100-image batch
does not regroup and re-sort the list a hundred times in a row. Selections and expanded exams
stay on their exam and image when the list regroups or re-sorts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor

from app.exam_entries import (
    PENDING,
    ExamEntry,
    RowStatus,
    WorklistRow,
    build_entry,
    describe_image,
    triage_key,
)
from app.theme import NEGATIVE_COLOR, POSITIVE_COLOR
from core.errors import ExamError
from core.exams import ExamId, ExamRegister, ImageFacts, Laterality, Sidecar
from core.inference.classifier import Prediction
from core.store import FeedbackSummary, ReadingRecord, StatedSide

log = logging.getLogger(__name__)

SORT_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # "exam" or "image"
KEY_ROLE = Qt.ItemDataRole.UserRole + 2  # the exam's id, or the image's path
REFRESH_MS = 150  # a batch re-sorts the list a few times a second, not per image

_Index = QModelIndex | QPersistentModelIndex

SYNC_TEXT = {"pending": "pending", "synced": "synced", "conflict": "conflict"}
LOCAL_ONLY = "local only"  # "pending" without a server: nothing will ever send it

__all__ = ["LOCAL_ONLY", "SYNC_TEXT", "RowStatus", "WorklistModel", "WorklistRow"]


def same_entry(a: ExamEntry, b: ExamEntry) -> bool:
    """Whether two builds of an exam show the same (its rows are replaced, never changed,
    when anything about an image changes)."""
    return (a.state == b.state and a.exam == b.exam and len(a.rows) == len(b.rows)
            and all(x is y for x, y in zip(a.rows, b.rows, strict=True)))


def decision_text(feedback: FeedbackSummary | None) -> str:
    """Compact, for the worklist's "Reader · BI-RADS" column: "disagrees · 4"."""
    if feedback is None:
        return ""
    verdict = "agrees" if feedback.agrees_with_model else "disagrees"
    birads = "" if feedback.birads is None else f" · {feedback.birads}"
    return f"{verdict}{birads}"


class WorklistModel(QAbstractItemModel):
    """Emits ``entries_changed`` once the list shows new facts (after :meth:`flush`)."""

    # Triage first: what decides the order and the reading comes before the identity columns
    # (the exam's name is the patient's), so a narrow list still shows it without scrolling.
    COLUMNS = ("Name", "Score", "Class", "Status", "Views", "Patient", "Date", "Accession",
               "Reader", "Sync")
    HEADERS = ("Exam / image", "Score", "Class", "Status", "Views", "Patient ID", "Study date",
               "Accession", "Reader · BI-RADS", "Sync")

    entries_changed = Signal()

    def __init__(self, parent: Any = None, *, local_only: bool = False) -> None:
        """``local_only``: no server is configured, so nothing is waiting to be sent."""
        super().__init__(parent)
        self._local_only = local_only
        self._rows: dict[str, WorklistRow] = {}
        self._register = ExamRegister()
        self._entries: list[ExamEntry] = []
        self._entry_of: dict[ExamId, int] = {}
        self._serials: dict[ExamId, int] = {}  # an exam's internal id while it is listed
        self._by_serial: dict[int, int] = {}
        self._arrival: dict[ExamId, int] = {}
        self._opened: set[str] = set()  # first image paths of exams the reader looked at
        self._signed: set[ExamId] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.flush)

    # Qt API -------------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:
        if not parent.isValid():
            if 0 <= row < len(self._entries) and 0 <= column < len(self.COLUMNS):
                return self.createIndex(row, column, 0)
            return QModelIndex()
        if parent.internalId() != 0 or not 0 <= parent.row() < len(self._entries):
            return QModelIndex()
        entry = self._entries[parent.row()]
        if 0 <= row < len(entry.rows) and 0 <= column < len(self.COLUMNS):
            return self.createIndex(row, column, self._serials[entry.id])
        return QModelIndex()

    def parent(self, index: _Index) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        number = self._by_serial.get(index.internalId())
        return QModelIndex() if number is None else self.createIndex(number, 0, 0)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._entries)
        if parent.internalId() == 0 and parent.column() == 0:
            return len(self._entries[parent.row()].rows)
        return 0

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.COLUMNS[index.column()]
        entry, row = self._item(index)
        if role == KIND_ROLE:
            return "exam" if row is None else "image"
        if role == KEY_ROLE:
            return entry.id if row is None else row.path
        if row is None:
            return self._exam_data(entry, column, role)
        return self._image_data(entry, row, column, role)

    # Reading the list ---------------------------------------------------------------------

    def entries(self) -> list[ExamEntry]:
        """The exams as listed (triage order)."""
        return list(self._entries)

    def entry(self, exam_id: ExamId) -> ExamEntry | None:
        number = self._entry_of.get(exam_id)
        return None if number is None else self._entries[number]

    def entry_of(self, path: str) -> ExamEntry | None:
        """The listed exam holding ``path``."""
        return next((e for e in self._entries if e.row(path) is not None), None)

    def exam_index(self, exam_id: ExamId) -> QModelIndex:
        number = self._entry_of.get(exam_id)
        return QModelIndex() if number is None else self.index(number, 0)

    def image_index(self, path: str) -> QModelIndex:
        for number, entry in enumerate(self._entries):
            for child, row in enumerate(entry.rows):
                if row.path == path:
                    return self.index(child, 0, self.index(number, 0))
        return QModelIndex()

    def row(self, index: _Index) -> WorklistRow | None:
        """The image row at ``index`` (None for an exam's row)."""
        return self._item(index)[1] if index.isValid() else None

    def row_for(self, path: str) -> WorklistRow | None:
        return self._rows.get(path)

    def rows(self) -> list[WorklistRow]:
        """Every image row, in the order the files came."""
        return list(self._rows.values())

    def first_with_status(self, status: RowStatus) -> WorklistRow | None:
        return next((r for r in self._rows.values() if r.status == status), None)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self._rows.values() if r.status == status)

    # Updates ------------------------------------------------------------------------------

    def add_queued(self, paths: list[str], *, sidecars: dict[Path, Sidecar] | None = None
                   ) -> None:
        """Queue files for reading; a file already listed is queued again in place.
        ``sidecars``: the folders' ``exam.json``, read by the batch."""
        self._register.add_sidecars(sidecars or {})
        for path in dict.fromkeys(paths):
            old = self._rows.get(path)
            self._rows[path] = WorklistRow(path=path, status=RowStatus.QUEUED,
                                           facts=old.facts if old else None)
            self._register.add(path)
        self._schedule()

    def add_stored(self, readings: list[ReadingRecord], *,
                   identities: dict[str, ImageFacts] | None = None) -> None:
        """Rows for readings made earlier (newest first); files already listed are kept."""
        for reading in readings:
            path = reading.source_path
            if path not in self._rows:
                facts = (identities or {}).get(path)
                self._rows[path] = WorklistRow(path=path, status=RowStatus.DONE,
                                               reading=reading, facts=facts)
                self._register.add(path, facts)
        self._schedule()

    def set_status(self, path: str, status: RowStatus, *, error: str | None = None) -> None:
        row = self._rows.get(path) or WorklistRow(path=path, status=status)
        self._put(replace(row, status=status, error=error))

    def apply_result(self, path: str, *, reading: ReadingRecord | None,
                     prediction: Prediction | None, error: str | None, scored: bool = True,
                     facts: ImageFacts | None = None) -> None:
        if error is not None:
            status = RowStatus.ERROR
        else:
            status = RowStatus.DONE if scored else RowStatus.NOT_SCORED
        old = self._rows.get(path)
        self._put(WorklistRow(path=path, status=status, reading=reading, prediction=prediction,
                              error=error, facts=facts or (old.facts if old else None)))

    def update_reading(self, reading: ReadingRecord) -> None:
        """Show ``reading`` anew (a decision, a sync state) on every row that holds it: a
        picture read before may be listed under another file name than the stored one."""
        for row in list(self._rows.values()):
            if row.reading is not None and row.reading.id == reading.id:
                self._put(replace(row, reading=reading))
        row = self._rows.get(reading.source_path)
        if row is not None and row.reading is None:
            self._put(replace(row, reading=reading))

    def cancel_pending(self) -> None:
        for row in list(self._rows.values()):
            if row.status in PENDING:
                self._put(replace(row, status=RowStatus.CANCELLED))

    def mark_opened(self, exam_id: ExamId) -> None:
        """The reader looked at this exam (unread -> read)."""
        entry = self.entry(exam_id)
        if entry is not None and entry.exam.paths[0] not in self._opened:
            self._opened.add(entry.exam.paths[0])
            self._schedule()

    def set_signed(self, exam_id: ExamId) -> None:
        """The exam's assessment is signed."""
        self._signed.add(exam_id)
        self._schedule()

    # Exam corrections (each raises core.errors.ExamError when it cannot be made) ------------

    def split(self, exam_id: ExamId, paths: Sequence[str]) -> ExamId:
        new_id = self._register.split(exam_id, paths)
        self.flush()
        return new_id

    def merge(self, ids: Sequence[ExamId]) -> None:
        self._register.merge(ids)
        self.flush()

    def set_side(self, path: str, *, laterality: Laterality | None = None,
                 view: str | None = None, later: bool = False) -> None:
        """Say which breast and view an image shows; ``later``: with the next refresh."""
        self._register.set_side(path, laterality=laterality, view=view)
        self._schedule() if later else self.flush()

    def state_sides(self, stated: dict[str, StatedSide]) -> None:
        """Sides and views readers said pictures show (remembered by the store), by path."""
        for path, (laterality, view) in stated.items():
            try:
                self._register.set_side(path, laterality=laterality,  # type: ignore[arg-type]
                                        view=view)
            except ExamError as exc:  # a value this version does not know: asked again
                log.warning("Remembered side of %s not used: %s", path, exc)
        self._schedule()

    def unknown_paths(self, exam_id: ExamId) -> list[str]:
        """The exam's images whose side or view is unknown."""
        entry = self.entry(exam_id)
        unknown = set(self._register.unknown_paths())
        return [] if entry is None else [p for p in entry.exam.paths if p in unknown]

    # Refresh ------------------------------------------------------------------------------

    def _put(self, row: WorklistRow) -> None:
        self._rows[row.path] = row
        self._register.add(row.path, row.facts)
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Show every change made so far, now."""
        self._timer.stop()
        entries = []
        for exam in self._register.exams():
            arrival = self._arrival.setdefault(exam.id, len(self._arrival))
            entry = build_entry(exam, self._rows, opened=exam.paths[0] in self._opened,
                                signed=exam.id in self._signed)
            entries.append((triage_key(entry, arrival), entry))
        fresh = [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]
        same = [(e.id, tuple(r.path for r in e.rows)) for e in fresh] == [
            (e.id, tuple(r.path for r in e.rows)) for e in self._entries]
        if same:
            old, self._entries = self._entries, fresh
            last = len(self.COLUMNS) - 1
            for number, (before, entry) in enumerate(zip(old, fresh, strict=True)):
                if same_entry(before, entry):
                    continue  # most exams do not change when one image is read
                parent = self.index(number, 0)
                self.dataChanged.emit(parent, self.index(number, last))
                if entry.rows:
                    self.dataChanged.emit(self.index(0, 0, parent),
                                          self.index(len(entry.rows) - 1, last, parent))
        else:
            self._relayout(fresh)
        self.entries_changed.emit()

    def _relayout(self, fresh: list[ExamEntry]) -> None:
        """Regrouped or re-sorted: persistent indexes (selection, expanded exams) follow
        their exam (by its first image) and their image (by path)."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        keys = [self._key(index) for index in old]
        self._entries = fresh
        self._entry_of = {e.id: n for n, e in enumerate(fresh)}
        for entry in fresh:
            self._serials.setdefault(entry.id, len(self._serials) + 1)
        self._by_serial = {self._serials[e.id]: n for n, e in enumerate(fresh)}
        self.changePersistentIndexList(old, [self._index_for(key) for key in keys])
        self.layoutChanged.emit()

    def _key(self, index: _Index) -> tuple[str, str, int] | None:
        if not index.isValid():
            return None
        entry, row = self._item(index)
        if row is None:
            return "exam", entry.exam.paths[0] if entry.exam.paths else entry.id, index.column()
        return "image", row.path, index.column()

    def _index_for(self, key: tuple[str, str, int] | None) -> QModelIndex:
        if key is None:
            return QModelIndex()
        kind, path, column = key
        for number, entry in enumerate(self._entries):
            if kind == "exam" and (path in entry.exam.paths or entry.id == path):
                return self.index(number, column)
            for child, row in enumerate(entry.rows):
                if kind == "image" and row.path == path:
                    return self.index(child, column, self.index(number, 0))
        return QModelIndex()

    def _item(self, index: _Index) -> tuple[ExamEntry, WorklistRow | None]:
        if index.internalId() == 0:
            return self._entries[index.row()], None
        entry = self._entries[self._by_serial[index.internalId()]]
        return entry, entry.rows[index.row()]

    # Display ------------------------------------------------------------------------------

    def _exam_data(self, entry: ExamEntry, column: str, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._exam_text(entry, column)
        if role == SORT_ROLE:
            if column == "Score":
                return -1.0 if entry.result is None or entry.result.score is None \
                    else entry.result.score
            return self._exam_text(entry, column).lower()
        if role == Qt.ItemDataRole.ToolTipRole:
            exam = entry.exam
            lines = [f"Exam {exam.id} (grouped by {exam.grouped_by.replace('_', ' ')})"]
            if exam.birth_date:
                lines.append(f"Born {exam.birth_date}")
            if exam.manufacturer:
                lines.append(f"Acquired on {exam.manufacturer}")
            if entry.mixed_thresholds:
                lines.append("Its views were scored by models with different thresholds: "
                             "no exam score")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole:
            label = entry.result.label if entry.result is not None else None
            return self._color(label, column, error=entry.failed)
        return None

    def _exam_text(self, entry: ExamEntry, column: str) -> str:
        exam = entry.exam
        if column == "Name":
            return entry.title
        if column == "Patient":
            return exam.patient_id or ""
        if column == "Date":
            return exam.study_date or ""
        if column == "Accession":
            return exam.accession or ""
        if column == "Views":
            return str(len(exam.images))
        if column == "Score":
            return entry.score_text
        if column == "Class":
            return (entry.result.label or "") if entry.result is not None else ""
        if column == "Status":
            return entry.status_text
        if column == "Sync":
            return self._sync_text(entry.sync_state)
        return ""

    def _image_data(self, entry: ExamEntry, row: WorklistRow, column: str, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._image_text(entry, row, column)
        if role == SORT_ROLE:
            if column == "Score":
                return -1.0 if row.score is None else row.score
            return self._image_text(entry, row, column).lower()
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.path if row.error is None else f"{row.path}\n{row.error}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row.label, column, error=row.status == RowStatus.ERROR)
        return None

    def _image_text(self, entry: ExamEntry, row: WorklistRow, column: str) -> str:
        if column == "Name":
            return Path(row.path).name
        if column == "Views":
            image = entry.exam.image(row.path)
            return "" if image is None else describe_image(image)
        if column == "Status":
            return f"error: {row.error}" if row.status == RowStatus.ERROR else row.status.value
        if column == "Score":
            return row.score_text
        if column == "Class":
            return row.label or ""
        if column == "Reader":
            return decision_text(row.reading.feedback if row.reading else None)
        if column == "Sync":
            return self._sync_text(row.reading.sync_state if row.reading else None)
        return ""

    def _sync_text(self, state: str | None) -> str:
        if state is None:
            return ""
        if self._local_only and state == "pending":
            return LOCAL_ONLY
        return SYNC_TEXT.get(state, "")

    @staticmethod
    def _color(label: str | None, column: str, *, error: bool) -> QColor | None:
        if column == "Class" and label:
            return QColor(POSITIVE_COLOR if label == "Positive" else NEGATIVE_COLOR)
        if column == "Status" and error:
            return QColor(POSITIVE_COLOR)
        return None
