"""The one way the app shows an error.

Domain errors (:class:`core.errors.MammoError`) carry a message a radiologist can act on and
are shown as they are. Anything else is a defect: it is logged with its traceback and shown
with a "details" section to copy into a bug report.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import MammoError

log = logging.getLogger(__name__)

UNKNOWN_ERROR_TEXT = (
    "Something unexpected went wrong. Your readings so far are saved. "
    "If this happens again, send the details below to your IT support."
)


def show_error(parent: QWidget | None, error: BaseException, *, title: str = "Mammo Workstation",
               modal: bool = False) -> QMessageBox:
    """Show ``error`` in a message box and return it.

    By default the box is window-modal and does not block the caller (``open()``), so a
    worker's error never stalls the event loop; ``modal=True`` blocks, for start-up errors
    shown before the main window exists.
    """
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if isinstance(error, MammoError):
        log.warning("Shown to the user: %s", error.message, exc_info=error.__cause__)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(error.message)
    else:
        log.error("Unexpected error", exc_info=error)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setText(UNKNOWN_ERROR_TEXT)
        box.setDetailedText("".join(traceback.format_exception(error)))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    if modal:
        box.exec()
    else:
        box.open()
    return box
