"""The worklist: every image of this session and recent readings, sortable and filterable,
with the batch's progress and its cancel button. Its context menu asks the model again about
an image already read ("Re-score")."""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.worklist_model import SORT_ROLE, STATUS_ROLE, RowStatus, WorklistModel, WorklistRow

ALL_STATUSES = "All"
COLUMN_SAMPLES = ("not scored", "0.0000", "Negative", "disagrees · 0", "local only")
FILE_COLUMN_CHARS = 30  # enough that names cut in the middle can still be told apart


class WorklistFilter(QSortFilterProxyModel):
    """Filters by a file-name substring and by status."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._status: str | None = None
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)

    def set_status(self, status: str | None) -> None:
        self._status = status
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int,
                         source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        if self._status is not None:
            status = model.data(model.index(source_row, 1, source_parent), STATUS_ROLE)
            if status != self._status:
                return False
        return super().filterAcceptsRow(source_row, source_parent)


class Worklist(QWidget):
    """Table of images. Emits ``row_selected`` with the :class:`WorklistRow` picked and
    ``rescore_requested`` with the paths the reader wants the model to score again."""

    row_selected = Signal(object)  # WorklistRow
    cancel_clicked = Signal()
    rescore_requested = Signal(list)  # list[str]

    def __init__(self, model: WorklistModel, *, can_rescore: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = WorklistFilter(self)
        self.proxy.setSourceModel(model)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by file name")
        self.search.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItems([ALL_STATUSES, *(s.value for s in RowStatus)])
        self.table = QTableView()
        self.table.setModel(self.proxy)
        # Unsorted at first: rows stay in the order they were imported until a header is clicked.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        # Fixed widths, not ResizeToContents: that re-measures every row on each update and
        # froze the window for most of a second per image in a 100-image batch (measured).
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        metrics = self.table.fontMetrics()
        self._other_columns = 0
        for column, sample in enumerate(COLUMN_SAMPLES, start=1):
            title = model.HEADERS[column]
            width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(title))
            header.resizeSection(column, width + 24)
            self._other_columns += width + 24
        self._file_column = metrics.averageCharWidth() * FILE_COLUMN_CHARS
        self.table.viewport().installEventFilter(self)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m images")
        self.cancel_button = QPushButton("Cancel")
        self.rescore_action = QAction("Re-score", self)
        self.rescore_action.setToolTip("Ask the model again about this image; the earlier "
                                       "reading and its decisions are kept")
        self.rescore_action.setEnabled(can_rescore)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._build_layout()
        self.search.textChanged.connect(self._on_search_changed)
        self.status_filter.currentTextChanged.connect(self._on_status_filter_changed)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.rescore_action.triggered.connect(self._on_rescore_triggered)
        self.table.customContextMenuRequested.connect(self._on_context_menu_requested)
        self.set_batch_running(False)

    def _build_layout(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.status_filter)
        batch = QHBoxLayout()
        batch.addWidget(self.progress, 1)
        batch.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(batch)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._update_file_column()
        return super().eventFilter(watched, event)

    def _update_file_column(self) -> None:
        """The file column takes the room the others leave, but never less than
        :data:`FILE_COLUMN_CHARS` (a narrow window scrolls sideways instead): squeezed to a few
        letters, every name looked alike."""
        header = self.table.horizontalHeader()
        if self.table.viewport().width() - self._other_columns >= self._file_column:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        else:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(0, self._file_column)

    def set_batch_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def current_row(self) -> WorklistRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.row(self.proxy.mapToSource(index).row())

    def select_path(self, path: str) -> None:
        number = self.model.number_of(path)
        if number is not None:
            self._select_proxy_row(self.proxy.mapFromSource(self.model.index(number, 0)).row())

    def select_next(self, step: int = 1) -> None:
        """Move the selection ``step`` rows down (negative: up) in the shown order."""
        count = self.proxy.rowCount()
        if count == 0:
            return
        current = self.table.currentIndex()
        row = 0 if not current.isValid() else min(max(current.row() + step, 0), count - 1)
        self._select_proxy_row(row)

    def _select_proxy_row(self, row: int) -> None:
        if row < 0:
            return
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    @Slot(str)
    def _on_search_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    @Slot(str)
    def _on_status_filter_changed(self, text: str) -> None:
        self.proxy.set_status(None if text == ALL_STATUSES else text)

    @Slot(QPoint)
    def _on_context_menu_requested(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        self._select_proxy_row(index.row())
        menu = QMenu(self)
        menu.addAction(self.rescore_action)
        menu.exec(self.table.viewport().mapToGlobal(position))

    @Slot()
    def _on_rescore_triggered(self) -> None:
        row = self.current_row()
        if row is not None:
            self.rescore_requested.emit([row.path])

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.row_selected.emit(self.model.row(self.proxy.mapToSource(current).row()))
