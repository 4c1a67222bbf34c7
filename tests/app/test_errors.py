"""Errors are shown through one function; unknown ones get a details section."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from app.errors import UNKNOWN_ERROR_TEXT, show_error
from core.errors import ImageDecodeError


def test_domain_error_shows_its_message(qtbot) -> None:
    box = show_error(None, ImageDecodeError("/x/a.png", "the file is damaged"))
    qtbot.addWidget(box)
    assert box.text() == "a.png: the file is damaged"
    assert box.detailedText() == ""
    assert box.icon() == QMessageBox.Icon.Warning


def test_unknown_error_shows_details(qtbot) -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        box = show_error(None, exc)
    qtbot.addWidget(box)
    assert box.text() == UNKNOWN_ERROR_TEXT
    assert "KeyError" in box.detailedText() and "Traceback" in box.detailedText()
