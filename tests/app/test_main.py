"""The composition root: first start with no model creates the account, shows the banner."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.first_run_dialog import FirstRunDialog
from app.main import main
from app.main_window import MainWindow
from app.ui_state import last_username, state_file
from core.store import Store


class Driver:
    """Plays the user while main() runs its own event loop: fills the first-run dialog,
    then notes what the main window shows and closes it."""

    def __init__(self) -> None:
        self.banner: str | None = None
        self.filled = False
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._on_timeout)
        self._timer.start()
        QTimer.singleShot(120_000, lambda: QApplication.exit(99))  # never hang the suite

    def _on_timeout(self) -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, FirstRunDialog) and not self.filled:
            self.filled = True
            dialog.username.setText("first.reader")
            dialog.password.setText("a long local password")
            dialog.confirm.setText("a long local password")
            dialog.buttons.accepted.emit()
            return
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible():
                self.banner = widget.banner.text() if widget.banner.isVisible() else ""
                self._timer.stop()
                widget.close()


def test_first_start_without_model(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   settings) -> None:
    monkeypatch.setenv("MAMMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MAMMO_MODEL_DIR", str(tmp_path / "no-model"))
    driver = Driver()

    assert main([]) == 0

    assert driver.filled
    assert driver.banner is not None
    assert driver.banner.startswith(f"No trained model is installed at {tmp_path / 'no-model'}")
    with Store.open(tmp_path / "data" / "mammo.sqlite3") as store:
        assert store.verify_local_password("first.reader", "a long local password")
    assert (tmp_path / "data" / "logs" / "workstation.log").is_file()
    assert last_username(state_file(tmp_path / "data")) == "first.reader"  # for the next login


def test_the_main_window_fits_on_a_laptop_screen(make_window, monkeypatch) -> None:
    from PySide6.QtCore import QRect

    window = make_window(None)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768

    class Laptop:
        def availableGeometry(self) -> QRect:  # noqa: N802 (Qt's name)
            return QRect(0, 0, 1366, 740)

    monkeypatch.setattr(window, "screen", lambda: Laptop())
    window._resize_within_screen(1500, 920)
    assert (window.width(), window.height()) == (1366, 740)


def test_the_main_window_opens_maximised_on_a_workstation_screen(make_window,
                                                                 monkeypatch) -> None:
    from PySide6.QtCore import QRect

    class Screen:
        def __init__(self, width: int, height: int) -> None:
            self.free = QRect(0, 0, width, height)

        def availableGeometry(self) -> QRect:  # noqa: N802 (Qt's name)
            return self.free

    workstation, laptop = make_window(None), make_window(None)
    monkeypatch.setattr(workstation, "screen", lambda: Screen(2560, 1400))
    monkeypatch.setattr(laptop, "screen", lambda: Screen(1366, 740))

    workstation.show_on_screen()
    laptop.show_on_screen()

    assert workstation.isMaximized()
    assert not laptop.isMaximized() and (laptop.width(), laptop.height()) == (1366, 740)
