"""The worklist: exams in triage order, each opening onto its images, with filters, the
batch's progress and its cancel button.

Its context menu acts on the exam or image under the cursor: re-score, retry what could not be
read (errors, a cancelled batch), split an exam, merge it with another, say an image's side
and view. The window carries these out; the worklist only says what the reader asked for.
"""

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
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.exam_entries import FAILED, ExamEntry, ExamState, WorklistRow
from app.worklist_model import KEY_ROLE, SORT_ROLE, WorklistModel
from core.exams import ExamId

ALL = "All exams"
NOT_READ = "not read (errors)"
FILTERS = (ALL, *(s.value for s in ExamState), NOT_READ)
COLUMN_SAMPLES = ("", "0.0000", "Negative", "unread · 2 not read", "side unknown, CC",
                  "P-000000", "2024-01-01", "ACC-00000", "disagrees · 0", "local only")
NAME_COLUMN_CHARS = 30  # enough that names cut in the middle can still be told apart
_SEARCHED = ("Name", "Patient", "Accession")


class WorklistFilter(QSortFilterProxyModel):
    """Keeps exams whose name, patient ID or accession (or one of whose file names) holds the
    search text, and whose state is the one chosen; an exam kept keeps all its images."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state: str | None = None
        self._text = ""
        self.setSortRole(SORT_ROLE)
        self.setRecursiveFilteringEnabled(True)

    def set_state(self, state: str | None) -> None:
        self._state = state
        self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._text = text.strip().lower()
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int,  # noqa: N802
                         source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self._state is None and not self._text:
            return True  # nothing to filter by (as during a batch, mostly): no work per row
        model = self.sourceModel()
        assert isinstance(model, WorklistModel)
        index = model.index(source_row, 0, source_parent)
        if source_parent.isValid():  # an image: kept with its exam, or by its own name
            return self._accepts_exam(model, source_parent) or (
                self._state is None and bool(self._text)
                and self._text in (index.data() or "").lower())
        return self._accepts_exam(model, index)

    def _accepts_exam(self, model: WorklistModel, index: QModelIndex | QPersistentModelIndex
                      ) -> bool:
        entry = model.entry(index.data(KEY_ROLE))
        if entry is None:
            return False
        if self._state == NOT_READ and entry.count(*FAILED) == 0:
            return False
        if self._state not in (None, NOT_READ) and entry.state.value != self._state:
            return False
        if not self._text:
            return True
        texts = [model.index(index.row(), model.COLUMNS.index(c)).data() or "" for c in _SEARCHED]
        return any(self._text in text.lower() for text in texts)


class Worklist(QWidget):
    """Tree of exams and their images.

    Emits ``exam_selected`` (exam id, the image chosen or None, whether the reader chose it
    by hand) when another exam or image becomes current; ``rescore_requested`` and
    ``retry_requested`` with paths; ``split_requested`` (exam id, paths: empty to ask which),
    ``merge_requested`` (exam id) and ``side_requested`` (paths).
    """

    exam_selected = Signal(object, object, bool)
    cancel_clicked = Signal()
    rescore_requested = Signal(list)
    retry_requested = Signal(list)
    split_requested = Signal(object, list)
    merge_requested = Signal(object)
    side_requested = Signal(list)

    def __init__(self, model: WorklistModel, *, can_rescore: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._shown: tuple[ExamId | None, str | None] = (None, None)
        self._by_program = False
        self.proxy = WorklistFilter(self)
        self.proxy.setSourceModel(model)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name, patient ID, accession or file")
        self.search.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItems(list(FILTERS))
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        # Unsorted at first: the model's own order is the triage order.
        self.tree.header().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.tree.setSortingEnabled(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self._size_columns()
        self.tree.viewport().installEventFilter(self)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m images")
        self.cancel_button = QPushButton("Cancel")
        self.rescore_action = self._menu_action(
            "Re-score", "Ask the model again; earlier readings and their decisions are kept",
            self._on_rescore_triggered)
        self.rescore_action.setEnabled(can_rescore)
        self.retry_action = self._menu_action(
            "Retry what was not read", "Read again the images that failed or were cancelled",
            self._on_retry_triggered)
        self.split_action = self._menu_action(
            "Split exam…", "Move some of its images into an exam of their own",
            self._on_split_triggered)
        self.merge_action = self._menu_action(
            "Merge with…", "Join another exam of the same patient into this one",
            self._on_merge_triggered)
        self.side_action = self._menu_action(
            "Set side and view…", "Say which breast and view the image shows",
            self._on_side_triggered)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._build_layout()
        self.search.textChanged.connect(self.proxy.set_text)
        self.status_filter.currentTextChanged.connect(self._on_status_filter_changed)
        self.tree.selectionModel().currentChanged.connect(self._on_current_changed)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.tree.customContextMenuRequested.connect(self._on_context_menu_requested)
        model.entries_changed.connect(self._on_entries_changed)
        self.set_batch_running(False)

    def _menu_action(self, text: str, tip: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

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
        layout.addWidget(self.tree, 1)
        layout.addLayout(batch)

    def _size_columns(self) -> None:
        # Fixed widths, not ResizeToContents: that re-measures every row on each update and
        # froze the window for most of a second per image in a 100-image batch (measured).
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        metrics = self.tree.fontMetrics()
        self._other_columns = 0
        for column, sample in enumerate(COLUMN_SAMPLES[1:], start=1):
            title = self.model.HEADERS[column]
            width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(title)) + 24
            header.resizeSection(column, width)
            self._other_columns += width
        self._name_column = metrics.averageCharWidth() * NAME_COLUMN_CHARS
        header.resizeSection(0, self._name_column)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Resize:
            self._update_name_column()
        return super().eventFilter(watched, event)

    def _update_name_column(self) -> None:
        """The name column takes the room the others leave, but never less than
        :data:`NAME_COLUMN_CHARS` (a narrow window scrolls sideways instead)."""
        room = self.tree.viewport().width() - self._other_columns
        self.tree.header().resizeSection(0, max(room, self._name_column))

    # Batch --------------------------------------------------------------------------------

    def set_batch_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    # Selection ----------------------------------------------------------------------------

    def current_row(self) -> WorklistRow | None:
        """The image chosen (None when an exam's own row is current)."""
        index = self.tree.currentIndex()
        return self.model.row(self.proxy.mapToSource(index)) if index.isValid() else None

    def current_entry(self) -> ExamEntry | None:
        """The exam chosen, or the exam of the image chosen."""
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        source = self.proxy.mapToSource(index)
        exam = source.parent() if source.parent().isValid() else source
        return self.model.entry(exam.data(KEY_ROLE))

    def select_path(self, path: str) -> None:
        """Make an image current (its exam opened)."""
        self._select(self.proxy.mapFromSource(self.model.image_index(path)))

    def select_exam(self, exam_id: ExamId) -> None:
        self._select(self.proxy.mapFromSource(self.model.exam_index(exam_id)))

    def select_next(self, step: int = 1) -> None:
        """Move ``step`` exams down (negative: up) in the shown order; 0: the current one's
        exam, or the first."""
        count = self.proxy.rowCount()
        if count == 0:
            return
        current = self.tree.currentIndex()
        if current.isValid() and current.parent().isValid():
            current = current.parent()
        row = 0 if not current.isValid() else min(max(current.row() + step, 0), count - 1)
        self._select(self.proxy.index(row, 0))

    def _select(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        if index.parent().isValid():
            self.tree.expand(index.parent())
        self._by_program = True
        try:
            self.tree.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self._by_program = False
        self.tree.scrollTo(index)

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._announce(by_user=not self._by_program)

    @Slot()
    def _on_entries_changed(self) -> None:
        self._announce(by_user=False)  # regrouped: the exam current may have a new id

    def _announce(self, *, by_user: bool) -> None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return
        entry, row = self.current_entry(), self.current_row()
        shown = (entry.id if entry else None, row.path if row else None)
        if entry is not None and shown != self._shown:
            self._shown = shown
            self.exam_selected.emit(entry.id, shown[1], by_user)

    # Context menu -------------------------------------------------------------------------

    @Slot(QPoint)
    def _on_context_menu_requested(self, position: QPoint) -> None:
        index = self.tree.indexAt(position)
        if not index.isValid():
            return
        self._select(self.tree.model().index(index.row(), 0, index.parent()))
        entry, row = self.current_entry(), self.current_row()
        if entry is None:
            return
        failed = [r for r in ([row] if row else entry.rows) if r.status in FAILED]
        self.retry_action.setEnabled(bool(failed))
        self.split_action.setText("Split into a new exam" if row else "Split exam…")
        self.split_action.setEnabled(len(entry.rows) > 1)
        self.merge_action.setEnabled(row is None and len(self.model.entries()) > 1)
        menu = QMenu(self)
        actions = [self.rescore_action, self.retry_action, self.split_action]
        actions += [self.side_action] if row is not None else [self.merge_action]
        menu.addActions(actions)
        menu.exec(self.tree.viewport().mapToGlobal(position))

    def _targets(self) -> list[WorklistRow]:
        row, entry = self.current_row(), self.current_entry()
        return [row] if row is not None else list(entry.rows) if entry is not None else []

    @Slot()
    def _on_rescore_triggered(self) -> None:
        paths = [r.path for r in self._targets()]
        if paths:
            self.rescore_requested.emit(paths)

    @Slot()
    def _on_retry_triggered(self) -> None:
        paths = [r.path for r in self._targets() if r.status in FAILED]
        if paths:
            self.retry_requested.emit(paths)

    @Slot()
    def _on_split_triggered(self) -> None:
        entry, row = self.current_entry(), self.current_row()
        if entry is not None:
            self.split_requested.emit(entry.id, [row.path] if row is not None else [])

    @Slot()
    def _on_merge_triggered(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            self.merge_requested.emit(entry.id)

    @Slot()
    def _on_side_triggered(self) -> None:
        paths = [r.path for r in self._targets()]
        if paths:
            self.side_requested.emit(paths)

    @Slot(str)
    def _on_status_filter_changed(self, text: str) -> None:
        self.proxy.set_state(None if text == ALL else text)
