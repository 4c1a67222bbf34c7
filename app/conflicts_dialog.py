"""Conflicts: changes the server refused because it holds another version of them.

Each is listed with this workstation's and the server's version side by side, differing fields
highlighted. "Mark reviewed" takes one off the list; both versions stay stored (nothing is
dropped), and the radiologist corrects the record, if needed, with an amendment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import jobs
from app.errors import show_error
from app.sync_backend import SyncBackend
from app.worker import JobPools, Worker
from core.store import Store

NOTHING_DROPPED = ("Both versions of every conflict stay stored. Marking one reviewed only "
                   "takes it off this list; to correct a record, sign an amendment.")
NO_CONFLICTS = "No conflicts to review."
NO_SERVER_VERSION = "(not sent by the server)"
MISSING = "—"
DIFFERENT_COLOR = "#5c4a00"
# The decision first: that is what a radiologist compares.
FIRST_FIELDS = ("agrees_with_model", "birads", "note", "signed_at", "reader", "amends_id",
                "label", "score", "threshold", "model_id", "created_at", "received_at")
FIELD_LABELS = {"agrees_with_model": "Agrees with model", "birads": "BI-RADS", "note": "Note",
                "signed_at": "Signed at", "reader": "Reader", "amends_id": "Amends",
                "label": "Class", "score": "Score", "threshold": "Threshold",
                "model_id": "Model", "created_at": "Read at", "received_at": "Received at"}
COLUMNS = ("Field", "This workstation", "Server")


def flatten(version: dict[str, Any] | None, prefix: str = "") -> dict[str, str]:
    """``{"image": {"width": 3}}`` -> ``{"image.width": "3"}``; values as shown."""
    flat: dict[str, str] = {}
    for key, value in (version or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, prefix=f"{name}."))
        elif value is None:
            flat[name] = MISSING
        elif isinstance(value, bool):
            flat[name] = "yes" if value else "no"
        elif isinstance(value, str):
            flat[name] = value
        else:
            flat[name] = json.dumps(value)
    return flat


def _field_order(name: str) -> tuple[int, str]:
    return (FIRST_FIELDS.index(name) if name in FIRST_FIELDS else len(FIRST_FIELDS), name)


def conflict_title(item: jobs.ConflictItem) -> str:
    conflict = item.conflict
    what = "Decision" if conflict.entity == "feedback" else "Reading"
    of = Path(item.source_path).name if item.source_path else f"reading {conflict.reading_id}"
    when = conflict.detected_at.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{what} on {of} · {when}"


class ConflictsDialog(QDialog):
    """Lists open conflicts (read on the io pool). Emits ``conflicts_loaded`` with how many
    are open after each (re)load and ``conflict_resolved`` with the id marked reviewed."""

    conflicts_loaded = Signal(int)
    conflict_resolved = Signal(int)

    def __init__(self, *, sync: SyncBackend, store: Store, pools: JobPools,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sync conflicts — Mammo Workstation")
        self.resize(980, 560)
        self._sync = sync
        self._store = store
        self._pools = pools
        self._items: list[jobs.ConflictItem] = []
        self._resolving: int | None = None
        self.list = QListWidget()
        self.message = QLabel("Loading conflicts…")
        self.message.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.mark_reviewed = QPushButton("Mark reviewed")
        self.mark_reviewed.setEnabled(False)
        self.mark_reviewed.clicked.connect(self._on_mark_reviewed_clicked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.message)
        detail_layout.addWidget(self.table, 1)
        detail_layout.addWidget(self.mark_reviewed, 0, Qt.AlignmentFlag.AlignRight)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(detail)
        splitter.setSizes([300, 680])
        note = QLabel(NOTHING_DROPPED)
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self._on_current_row_changed)
        self._load(resolve=None)

    @property
    def items(self) -> list[jobs.ConflictItem]:
        return list(self._items)

    def _load(self, *, resolve: int | None) -> None:
        worker = Worker(jobs.conflicts_job(self._sync, self._store, resolve=resolve),
                        name="conflicts")
        worker.signals.result.connect(self._on_conflicts_loaded)
        worker.signals.error.connect(self._on_load_failed)
        self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_conflicts_loaded(self, items: list[jobs.ConflictItem]) -> None:
        resolved, self._resolving = self._resolving, None
        self._items = items
        self.list.clear()
        for item in items:
            QListWidgetItem(conflict_title(item), self.list)
        if items:
            self.list.setCurrentRow(0)
        else:
            self._update_detail(None)
        if resolved is not None:
            self.conflict_resolved.emit(resolved)
        self.conflicts_loaded.emit(len(items))

    @Slot(object)
    def _on_load_failed(self, error: BaseException) -> None:
        self._resolving = None
        self.message.setText("The conflicts could not be read.")
        self.mark_reviewed.setEnabled(bool(self._items))
        show_error(self, error)

    @Slot(int)
    def _on_current_row_changed(self, row: int) -> None:
        self._update_detail(self._items[row] if 0 <= row < len(self._items) else None)

    @Slot()
    def _on_mark_reviewed_clicked(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self._items) or self._resolving is not None:
            return
        self._resolving = self._items[row].conflict.id
        self.mark_reviewed.setEnabled(False)
        self._load(resolve=self._resolving)

    def _update_detail(self, item: jobs.ConflictItem | None) -> None:
        self.table.setRowCount(0)
        self.mark_reviewed.setEnabled(item is not None and self._resolving is None)
        if item is None:
            self.message.setText(NO_CONFLICTS)
            return
        self.message.setText(item.conflict.message)
        local = flatten(item.conflict.local_version)
        server = flatten(item.conflict.server_version)
        names = sorted(set(local) | set(server), key=_field_order)
        self.table.setRowCount(len(names))
        bold = QFont()
        bold.setBold(True)
        for number, name in enumerate(names):
            theirs = (NO_SERVER_VERSION if item.conflict.server_version is None
                      else server.get(name, MISSING))
            cells = (FIELD_LABELS.get(name, name), local.get(name, MISSING), theirs)
            # Fields only the server has (who, when received) are not a difference.
            differs = name in local and name in server and local[name] != server[name]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                if differs:
                    cell.setBackground(QColor(DIFFERENT_COLOR))
                    cell.setFont(bold)
                self.table.setItem(number, column, cell)
        self.table.resizeRowsToContents()
