"""The worklist's table model: one row per image file, keyed by its absolute path."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.score_text import score_text
from app.theme import NEGATIVE_COLOR, POSITIVE_COLOR
from core.inference.classifier import Prediction
from core.store import FeedbackSummary, ReadingRecord

SORT_ROLE = Qt.ItemDataRole.UserRole
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class RowStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    NOT_SCORED = "not scored"
    CANCELLED = "cancelled"


SYNC_TEXT = {"pending": "pending", "synced": "synced", "conflict": "conflict"}
LOCAL_ONLY = "local only"  # "pending" without a server: nothing will ever send it


@dataclass(frozen=True)
class WorklistRow:
    """What the worklist knows about one file. ``prediction`` only for images read in this
    session (it carries the heatmap); stored readings from earlier sessions have ``reading``."""

    path: str
    status: RowStatus
    reading: ReadingRecord | None = None
    prediction: Prediction | None = None
    error: str | None = None

    @property
    def score(self) -> float | None:
        if self.reading is not None:
            return self.reading.score
        return self.prediction.score if self.prediction is not None else None

    @property
    def label(self) -> str | None:
        if self.reading is not None:
            return self.reading.label
        return self.prediction.label if self.prediction is not None else None

    @property
    def threshold(self) -> float | None:
        if self.reading is not None:
            return self.reading.threshold
        return self.prediction.threshold if self.prediction is not None else None

    @property
    def score_text(self) -> str:
        """The score as shown: never on the other side of the threshold than its class."""
        if self.score is None or self.threshold is None:
            return ""
        return score_text(score=self.score, threshold=self.threshold,
                          positive=self.label == "Positive")


def decision_text(feedback: FeedbackSummary | None) -> str:
    """Compact, for the worklist's "Reader · BI-RADS" column: "disagrees · 4"."""
    if feedback is None:
        return ""
    verdict = "agrees" if feedback.agrees_with_model else "disagrees"
    birads = "" if feedback.birads is None else f" · {feedback.birads}"
    return f"{verdict}{birads}"


class WorklistModel(QAbstractTableModel):
    COLUMNS = ("File", "Status", "Score", "Class", "Reader", "Sync")
    HEADERS = ("File", "Status", "Score", "Class", "Reader · BI-RADS", "Sync")

    def __init__(self, parent: Any = None, *, local_only: bool = False) -> None:
        """``local_only``: no server is configured, so nothing is waiting to be sent."""
        super().__init__(parent)
        self._rows: list[WorklistRow] = []
        self._index: dict[str, int] = {}
        self._local_only = local_only

    # Qt API -------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == STATUS_ROLE:
            return row.status.value
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.path if row.error is None else f"{row.path}\n{row.error}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row, column)
        return None

    # Updates ------------------------------------------------------------------------------

    def row(self, number: int) -> WorklistRow:
        return self._rows[number]

    def row_for(self, path: str) -> WorklistRow | None:
        number = self._index.get(path)
        return None if number is None else self._rows[number]

    def number_of(self, path: str) -> int | None:
        return self._index.get(path)

    def rows(self) -> list[WorklistRow]:
        return list(self._rows)

    def add_queued(self, paths: list[str]) -> None:
        """Queue files for reading; a file already listed is queued again in place."""
        fresh = [p for p in dict.fromkeys(paths) if p not in self._index]
        for path in paths:
            if path in self._index:
                self._set(WorklistRow(path=path, status=RowStatus.QUEUED))
        self._append([WorklistRow(path=p, status=RowStatus.QUEUED) for p in fresh])

    def add_stored(self, readings: list[ReadingRecord]) -> None:
        """Rows for readings made earlier (newest first); files already listed are kept."""
        fresh: dict[str, WorklistRow] = {}
        for reading in readings:
            path = reading.source_path
            if path not in self._index and path not in fresh:
                fresh[path] = WorklistRow(path=path, status=RowStatus.DONE, reading=reading)
        self._append(list(fresh.values()))

    def set_status(self, path: str, status: RowStatus, *, error: str | None = None) -> None:
        row = self.row_for(path) or WorklistRow(path=path, status=status)
        self._set(replace(row, status=status, error=error), add=True)

    def apply_result(self, path: str, *, reading: ReadingRecord | None,
                     prediction: Prediction | None, error: str | None,
                     scored: bool = True) -> None:
        if error is not None:
            status = RowStatus.ERROR
        else:
            status = RowStatus.DONE if scored else RowStatus.NOT_SCORED
        self._set(WorklistRow(path=path, status=status, reading=reading, prediction=prediction,
                              error=error), add=True)

    def update_reading(self, reading: ReadingRecord) -> None:
        """Show ``reading`` anew (a decision, a sync state) on every row that holds it: a
        picture read before may be listed under another file name than the stored one."""
        for row in self._rows:
            if row.reading is not None and row.reading.id == reading.id:
                self._set(replace(row, reading=reading))
        row = self.row_for(reading.source_path)
        if row is not None and row.reading is None:
            self._set(replace(row, reading=reading))

    def cancel_pending(self) -> None:
        for row in self._rows:
            if row.status in (RowStatus.QUEUED, RowStatus.RUNNING):
                self._set(replace(row, status=RowStatus.CANCELLED))

    def first_with_status(self, status: RowStatus) -> WorklistRow | None:
        return next((r for r in self._rows if r.status == status), None)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self._rows if r.status == status)

    # Private ------------------------------------------------------------------------------

    def _append(self, rows: list[WorklistRow]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for row in rows:
            self._index[row.path] = len(self._rows)
            self._rows.append(row)
        self.endInsertRows()

    def _set(self, row: WorklistRow, *, add: bool = False) -> None:
        number = self._index.get(row.path)
        if number is None:
            if add:
                self._append([row])
            return
        self._rows[number] = row
        self.dataChanged.emit(self.index(number, 0), self.index(number, len(self.COLUMNS) - 1))

    def _display(self, row: WorklistRow, column: str) -> str:
        if column == "File":
            return Path(row.path).name
        if column == "Status":
            return f"error: {row.error}" if row.status == RowStatus.ERROR else row.status.value
        if column == "Score":
            return row.score_text
        if column == "Class":
            return row.label or ""
        if column == "Reader":
            return decision_text(row.reading.feedback if row.reading else None)
        if column == "Sync":
            if row.reading is None:
                return ""
            if self._local_only and row.reading.sync_state == "pending":
                return LOCAL_ONLY
            return SYNC_TEXT.get(row.reading.sync_state, "")
        return ""

    def _sort_key(self, row: WorklistRow, column: str) -> Any:
        if column == "Score":
            return -1.0 if row.score is None else row.score
        return self._display(row, column).lower()

    @staticmethod
    def _color(row: WorklistRow, column: str) -> QColor | None:
        if column == "Class" and row.label:
            return QColor(POSITIVE_COLOR if row.label == "Positive" else NEGATIVE_COLOR)
        if column == "Status" and row.status == RowStatus.ERROR:
            return QColor(POSITIVE_COLOR)
        return None
