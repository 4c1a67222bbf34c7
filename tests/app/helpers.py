"""Small helpers shared by the app tests: reading what the widgets show."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QMessageBox

from app.main_window import MainWindow


def worklist_texts(window: MainWindow, column: str) -> list[str]:
    """The texts of one worklist column, in the order shown."""
    proxy = window.worklist.proxy
    number = window.worklist_model.COLUMNS.index(column)
    return [proxy.index(row, number).data() for row in range(proxy.rowCount())]


def worklist_by_file(window: MainWindow) -> dict[str, dict[str, str]]:
    model = window.worklist_model
    rows = {}
    for number in range(model.rowCount()):
        values = {c: model.index(number, i).data() for i, c in enumerate(model.COLUMNS)}
        rows[values["File"]] = values
    return rows


def open_message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()]
