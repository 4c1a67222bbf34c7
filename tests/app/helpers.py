"""Small helpers shared by the app tests: reading what the widgets show."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QApplication, QMessageBox

from app.main_window import MainWindow


def _values(window: MainWindow, index: QModelIndex) -> dict[str, str]:
    proxy, columns = window.worklist.proxy, window.worklist_model.COLUMNS
    return {c: proxy.index(index.row(), i, index.parent()).data() or ""
            for i, c in enumerate(columns)}


def exam_rows(window: MainWindow) -> list[dict[str, str]]:
    """The worklist's exam rows as shown (triage order, filters applied), column by name."""
    window.worklist_model.flush()  # what the list shows a moment later
    proxy = window.worklist.proxy
    return [_values(window, proxy.index(n, 0)) for n in range(proxy.rowCount())]


def image_rows(window: MainWindow) -> list[dict[str, str]]:
    """Every exam's image rows as shown, exam after exam."""
    window.worklist_model.flush()
    proxy = window.worklist.proxy
    rows = []
    for number in range(proxy.rowCount()):
        exam = proxy.index(number, 0)
        rows += [_values(window, proxy.index(n, 0, exam)) for n in range(proxy.rowCount(exam))]
    return rows


def worklist_texts(window: MainWindow, column: str) -> list[str]:
    """The texts of one column of the image rows, in the order shown."""
    return [row[column] for row in image_rows(window)]


def worklist_by_file(window: MainWindow) -> dict[str, dict[str, str]]:
    """Image rows by file name."""
    return {row["Name"]: row for row in image_rows(window)}


def open_message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()]
