"""History and search over past readings, by patient ID or name, accession, file or reader
(the query itself runs on a worker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.score_text import score_text
from app.worklist_model import SYNC_TEXT
from core.store import Label, ReadingRecord

HISTORY_LIMIT = 1000
TYPING_PAUSE_MS = 250
PERIODS = {"All time": None, "Today": 0, "Last 7 days": 7, "Last 30 days": 30}
COLUMNS = ("Date", "File", "Score", "Class", "Patient ID", "Accession", "Reader", "Decision",
           "BI-RADS", "Sync")


@dataclass(frozen=True)
class HistoryQuery:
    text: str
    label: Label | None
    since: datetime | None
    limit: int = HISTORY_LIMIT


class _SortItem(QTableWidgetItem):
    """Sorts by the value in UserRole (numbers, dates) rather than the shown text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        if mine is None or theirs is None or type(mine) is not type(theirs):
            return self.text() < other.text()
        return mine < theirs


class HistoryView(QWidget):
    """Emits ``query_changed`` when the filters change, ``reading_opened`` on double-click."""

    query_changed = Signal(object)  # HistoryQuery
    reading_opened = Signal(object)  # ReadingRecord

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._readings: list[ReadingRecord] = []
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search patient ID or name, accession, file, reader or "
                                       "SOP Instance UID")
        self.search.setClearButtonEnabled(True)
        self.label = QComboBox()
        self.label.addItems(["Any class", "Positive", "Negative"])
        self.period = QComboBox()
        self.period.addItems(list(PERIODS))
        self.summary = QLabel()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the store's order: newest first
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.label)
        filters.addWidget(self.period)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self.search.textChanged.connect(self._typing.start)
        self._typing.timeout.connect(self.refresh)
        self.label.currentIndexChanged.connect(self.refresh)
        self.period.currentIndexChanged.connect(self.refresh)
        self.table.cellDoubleClicked.connect(self._on_cell_double_clicked)

    def query(self) -> HistoryQuery:
        label = self.label.currentText()
        days = PERIODS[self.period.currentText()]
        since = None
        if days is not None:
            midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
            since = (midnight - timedelta(days=days)).astimezone(UTC)
        return HistoryQuery(text=self.search.text().strip(),
                            label=label if label in ("Positive", "Negative") else None,  # type: ignore[arg-type]
                            since=since)

    @Slot()
    def refresh(self) -> None:
        self.summary.setText("Searching…")
        self.query_changed.emit(self.query())

    def show_readings(self, readings: list[ReadingRecord]) -> None:
        self._readings = list(readings)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(readings))
        for number, reading in enumerate(readings):
            for column, (text, key) in enumerate(_cells(reading)):
                item = _SortItem(text)
                item.setData(Qt.ItemDataRole.UserRole, key)
                item.setData(Qt.ItemDataRole.UserRole + 1, number)
                item.setToolTip(reading.source_path)
                self.table.setItem(number, column, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()  # once per query, never per cell
        more = " (the newest; refine the search)" if len(readings) >= HISTORY_LIMIT else ""
        self.summary.setText(f"{len(readings)} readings{more}")

    def shown_readings(self) -> list[ReadingRecord]:
        """Readings in the order the table shows them."""
        return [self._readings[self.table.item(r, 0).data(Qt.ItemDataRole.UserRole + 1)]
                for r in range(self.table.rowCount())]

    @Slot(int, int)
    def _on_cell_double_clicked(self, row: int, _column: int) -> None:
        self.reading_opened.emit(self.shown_readings()[row])


def _cells(r: ReadingRecord) -> list[tuple[str, object]]:
    when = r.created_at.astimezone()
    fb = r.feedback
    decision = "" if fb is None else ("agrees" if fb.agrees_with_model else "disagrees")
    birads = "" if fb is None or fb.birads is None else str(fb.birads)
    return [
        (when.strftime("%Y-%m-%d %H:%M"), when.timestamp()),
        (Path(r.source_path).name, r.source_path.lower()),
        (score_text(score=r.score, threshold=r.threshold, positive=r.label == "Positive"),
         r.score),
        (r.label, r.label),
        (r.identity.patient_id or "", (r.identity.patient_id or "").lower()),
        (r.identity.accession_number or "", (r.identity.accession_number or "").lower()),
        (r.username, r.username.lower()),
        (decision, decision),
        (birads, birads),
        (SYNC_TEXT.get(r.sync_state, r.sync_state), r.sync_state),
    ]
