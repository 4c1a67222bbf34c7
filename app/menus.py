"""The main window's menus and their keys.

Reading keys: N / P next and previous exam, V the hanging's layout (2x2, one breast, one
view), L linked views, H heatmap, I invert, R reset, W window preset, [ and ] heatmap opacity,
A / D agree or disagree with the model, Ctrl+Return sign, M place finding marks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from app.main_window import MainWindow


def build_menus(window: MainWindow) -> None:
    """Fill the window's menu bar. The window's parts must exist already."""
    menu = window.menuBar()
    file_menu = menu.addMenu("&File")
    _add(window, file_menu, "Import &files…", QKeySequence.StandardKey.Open,
         window.import_files)
    _add(window, file_menu, "Import f&older…", "Ctrl+Shift+O", window.import_folder)
    file_menu.addAction(window.assessments.export_action)
    file_menu.addSeparator()
    _add(window, file_menu, "&Settings…", "Ctrl+,", window.open_settings)
    file_menu.addSeparator()
    _add(window, file_menu, "&Quit", QKeySequence.StandardKey.Quit, window.close)
    view = menu.addMenu("&View")
    worklist, controls, hanging = window.worklist, window.controls, window.controls.hanging
    _add(window, view, "&Next exam", "N", lambda: worklist.select_next(1))
    _add(window, view, "&Previous exam", "P", lambda: worklist.select_next(-1))
    _add(window, view, "Hanging &layout (2x2, one breast, one view)", "V",
         hanging.cycle_layout)
    _add(window, view, "&Link views", "L", controls.toggle_linked)
    _add(window, view, "&Heatmap", "H", window.toggle_heatmap)
    _add(window, view, "&Invert", "I", hanging.toggle_invert)
    _add(window, view, "&Reset view", "R", hanging.reset_view)
    _add(window, view, "Next &window preset", "W", controls.next_preset)
    _add(window, view, "More heatmap opacity", "]", lambda: controls.step_opacity(1))
    _add(window, view, "Less heatmap opacity", "[", lambda: controls.step_opacity(-1))
    decide = menu.addMenu("&Decision")
    panel = window.decision_panel
    _add(window, decide, "&Agree with model", "A", lambda: panel.set_agrees(True))
    _add(window, decide, "&Disagree with model", "D", lambda: panel.set_agrees(False))
    breasts = window.breast_panel
    _add(window, decide, "&Sign", "Ctrl+Return",  # the assessment or the view's, as shown
         lambda: (breasts.sign if breasts.isVisible() else panel.sign).click())
    decide.addAction(window.assessments.mark_action)
    _add(window, decide, "Record &outcome…", None, window.record_outcome)
    if window.sync_indicator is not None:
        sync_menu = menu.addMenu("S&ync")
        sync_menu.addAction(window.sync_indicator.sync_now_action)
        sync_menu.addAction(window.sync_indicator.review_action)
        sync_menu.addAction(window.sync_indicator.log_in_action)
    help_menu = menu.addMenu("&Help")
    _add(window, help_menu, "&About", None, window.open_about)


def _add(window: MainWindow, menu: QMenu, text: str, shortcut: object,
         slot: Callable[[], object]) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
    action.triggered.connect(slot)
    menu.addAction(action)
    return action
