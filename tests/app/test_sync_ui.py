"""Sync in the window: the status-bar indicator, "Sync now", the conflicts dialog and the
composition root with a server. A fake sync service stands in for core.sync (no network)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.conflicts_dialog import NO_CONFLICTS, ConflictsDialog
from app.login_dialog import OTHER_ACCOUNT, WRONG_CREDENTIALS, LoginDialog
from app.main import main
from app.main_window import MainWindow
from app.sync_controller import SyncController
from app.sync_indicator import LOG_IN_AGAIN, SYNC_NOW_SHORTCUT, SyncIndicator
from core.errors import SyncError, SyncErrorKind
from core.store import ReadingId, Store, SyncConflictRecord, UserRecord
from core.sync import ServerAuthenticator, SyncReport, SyncStatus
from tests.app.factories import PASSWORD, store_reading
from tests.app.helpers import open_message_boxes, worklist_by_file

SERVER = "https://mammo.example.org"
UNREACHABLE = "The central server cannot be reached; readings are kept and sent later."
EXPIRED = "Your server login has expired; log in again. Nothing waiting to be sent is lost."
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def make_status(**overrides: Any) -> SyncStatus:
    values: dict[str, Any] = {
        "configured": True, "server_url": SERVER, "username": "reader", "online": True,
        "pending": 0, "pending_other_users": 0, "conflicts": 0, "last_attempt_at": T0,
        "last_success_at": T0, "last_error": None, "last_error_kind": None,
        "next_attempt_at": None, "held_back_error": None, "running": False,
    }
    values.update(overrides)
    return SyncStatus(**values)


def make_conflict(reading_id: ReadingId, *, conflict_id: int = 7) -> SyncConflictRecord:
    local = {"id": str(reading_id), "agrees_with_model": True, "birads": 2, "note": "benign",
             "image": {"width": 96, "height": 128}}
    server = {**local, "agrees_with_model": False, "birads": 4, "note": "biopsy",
              "reader": "reader"}
    return SyncConflictRecord(
        id=conflict_id, entity="reading", entity_id=str(reading_id), reading_id=reading_id,
        local_version=local, server_version=server,
        message="The server holds another signed version of this reading.",
        detected_at=T0, resolved_at=None)


class FakeSync:
    """Same methods as core.sync.SyncService. ``fail`` is raised by ``sync_once`` after being
    recorded in the status, as the real service does; ``on_sync`` runs inside a pass."""

    def __init__(self, status: SyncStatus, *, conflicts: list[SyncConflictRecord] | None = None,
                 user: UserRecord | None = None) -> None:
        self._status = status
        self._conflicts = list(conflicts or [])
        self._user = user
        self.fail: SyncError | None = None
        self.retry_at: datetime | None = None
        self.on_sync: Callable[[], None] | None = None
        self.sync_calls = 0
        self.in_flight = 0
        self.resolved: list[int] = []
        self.logins: list[tuple[str, str]] = []
        self.closed_with_jobs_in_flight: int | None = None

    def set_status(self, status: SyncStatus) -> None:
        self._status = status

    def status(self) -> SyncStatus:
        return self._status

    def sync_once(self, cancel: threading.Event | None = None) -> SyncReport:
        self.sync_calls += 1
        self.in_flight += 1
        try:
            if self.on_sync is not None:
                self.on_sync()
            if self.fail is not None:
                online = self.fail.kind not in (SyncErrorKind.NETWORK, SyncErrorKind.SERVER)
                self._status = replace(self._status, online=online, last_error=self.fail.message,
                                       last_error_kind=self.fail.kind,
                                       next_attempt_at=self.retry_at)
                raise self.fail
            self._status = replace(self._status, online=True, last_error=None,
                                   last_error_kind=None, next_attempt_at=None)
            return SyncReport(sent=0, conflicts=0, rejected=0, readings_pulled=0,
                              decisions_pulled=0, cancelled=False, already_running=False,
                              status=self._status)
        finally:
            self.in_flight -= 1

    def conflicts(self) -> list[SyncConflictRecord]:
        return [c for c in self._conflicts if c.id not in self.resolved]

    def resolve_conflict(self, conflict_id: int) -> None:
        self.resolved.append(conflict_id)

    def close(self) -> None:
        self.closed_with_jobs_in_flight = self.in_flight

    def log_in(self, username: str, password: str) -> SimpleNamespace | None:
        self.logins.append((username, password))
        return SimpleNamespace(user=self._user, online=True) if password == PASSWORD else None


@pytest.fixture
def sync_window(qtbot, settings, store, user, pools) -> Iterator[Callable[[FakeSync], MainWindow]]:
    windows: list[MainWindow] = []

    def build(sync: FakeSync) -> MainWindow:
        window = MainWindow(settings=settings, store=store, user=user, pools=pools,
                            reading_service=None, model_info=None, model_error="no model (test)",
                            config_file=None, sync=sync,
                            authenticator=ServerAuthenticator(sync))  # type: ignore[arg-type]
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.close()


def indicator_text(window: MainWindow) -> str:
    assert window.sync_indicator is not None
    return window.sync_indicator.label.text()


def test_indicator_shows_offline_pending_last_error_then_online(qtbot, sync_window) -> None:
    sync = FakeSync(make_status(pending=3, online=None, last_success_at=None,
                                last_attempt_at=None))
    sync.fail = SyncError(UNREACHABLE, kind=SyncErrorKind.NETWORK)
    window = sync_window(sync)  # syncs at start, as after logging in

    qtbot.waitUntil(lambda: indicator_text(window).startswith("Offline"))
    assert indicator_text(window) == "Offline · 3 pending · last sync never"
    assert window.sync_indicator is not None
    assert UNREACHABLE in window.sync_indicator.label.toolTip()
    assert open_message_boxes() == []  # sync problems never pop up

    sync.fail = None
    sync.set_status(make_status(pending=0))
    assert window.sync_controller is not None
    with qtbot.waitSignal(window.sync_controller.status_changed):
        window.sync_indicator.sync_now_action.trigger()
    assert indicator_text(window).startswith("Online · all sent · last sync ")
    assert UNREACHABLE not in window.sync_indicator.label.toolTip()


def test_auth_error_says_log_in_again_without_a_dialog(qtbot, sync_window) -> None:
    sync = FakeSync(make_status(pending=2))
    sync.fail = SyncError(EXPIRED, kind=SyncErrorKind.AUTH)
    window = sync_window(sync)

    qtbot.waitUntil(lambda: LOG_IN_AGAIN in indicator_text(window))
    assert indicator_text(window).startswith(f"Sync paused: {LOG_IN_AGAIN} · 2 pending")
    assert window.sync_indicator is not None
    assert EXPIRED in window.sync_indicator.label.toolTip()
    assert open_message_boxes() == []


def open_login_dialog() -> LoginDialog:
    return next(w for w in QApplication.topLevelWidgets()
                if isinstance(w, LoginDialog) and w.isVisible())


def expired_login_window(qtbot, sync_window, user: UserRecord) -> tuple[MainWindow, FakeSync]:
    """A window whose first pass was refused: the server login expired."""
    sync = FakeSync(make_status(pending=2), user=user)
    sync.fail = SyncError(EXPIRED, kind=SyncErrorKind.AUTH)
    window = sync_window(sync)
    assert window.sync_controller is not None
    qtbot.waitUntil(lambda: LOG_IN_AGAIN in indicator_text(window)
                    and window.sync_controller.idle)
    return window, sync


def sync_menu_action(window: MainWindow, text: str) -> Any:
    menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "S&ync")
    return next(a for a in menu.actions() if a.text() == text)


def test_log_in_again_is_offered_only_after_an_auth_error(qtbot, sync_window, user) -> None:
    sync = FakeSync(make_status(pending=1), user=user)
    sync.fail = SyncError(UNREACHABLE, kind=SyncErrorKind.NETWORK)
    window = sync_window(sync)
    indicator = window.sync_indicator
    assert indicator is not None
    qtbot.waitUntil(lambda: indicator_text(window).startswith("Offline"))
    assert indicator.log_in_button.isHidden()
    assert not sync_menu_action(window, "&Log in again…").isVisible()

    sync.fail = SyncError(EXPIRED, kind=SyncErrorKind.AUTH)
    assert window.sync_controller is not None
    with qtbot.waitSignal(window.sync_controller.status_changed):
        indicator.sync_now_action.trigger()
    assert LOG_IN_AGAIN in indicator_text(window)
    assert not indicator.log_in_button.isHidden()
    assert sync_menu_action(window, "&Log in again…") is indicator.log_in_action
    assert indicator.log_in_action.isVisible()


def test_logging_in_again_resumes_sync_at_once_and_keeps_the_queue(
        qtbot, sync_window, store, user, pools) -> None:
    store_reading(store, user_id=user.id, path="/data/a.png", n=1)
    queued = [entry.id for entry in store.pending_outbox(100)]
    window, sync = expired_login_window(qtbot, sync_window, user)
    indicator, controller = window.sync_indicator, window.sync_controller
    assert indicator is not None and controller is not None

    indicator.log_in_button.click()
    dialog = open_login_dialog()
    assert dialog.username.text() == "reader" and dialog.username.isReadOnly()
    sync.fail = None
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(controller.sync_finished):
        dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: pools.live_count == 0)

    assert sync.logins == [("reader", PASSWORD)]
    assert sync.sync_calls == 2  # the refused first pass, then exactly one after logging in
    assert indicator_text(window).startswith("Online · 2 pending")
    assert indicator.log_in_button.isHidden() and not indicator.log_in_action.isVisible()
    assert [entry.id for entry in store.pending_outbox(100)] == queued


def test_a_wrong_password_or_another_account_keeps_the_dialog_and_does_not_sync(
        qtbot, sync_window, user, pools) -> None:
    window, sync = expired_login_window(qtbot, sync_window, user)
    indicator = window.sync_indicator
    assert indicator is not None

    indicator.log_in_action.trigger()
    dialog = open_login_dialog()
    dialog.password.setText("wrong password")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: dialog.message.text() == WRONG_CREDENTIALS)
    assert dialog.isVisible() and dialog.password.text() == ""

    dialog.username.setText("someone-else")  # read-only for the user; refused in code too
    dialog.password.setText(PASSWORD)
    dialog.buttons.accepted.emit()
    assert dialog.message.text() == OTHER_ACCOUNT.format(username="reader")
    assert sync.logins == [("reader", "wrong password")]

    dialog.reject()  # cancel: nothing changes
    qtbot.waitUntil(lambda: pools.live_count == 0)
    assert sync.sync_calls == 1
    assert LOG_IN_AGAIN in indicator_text(window)
    assert not indicator.log_in_button.isHidden()


def test_after_an_auth_error_only_the_user_restarts_syncing(qtbot, pools) -> None:
    sync = FakeSync(make_status(pending=2))
    sync.fail = SyncError(EXPIRED, kind=SyncErrorKind.AUTH)
    controller = SyncController(sync, pools, poll_ms=3_600_000, debounce_ms=1)
    indicator = SyncIndicator()
    qtbot.addWidget(indicator)
    controller.status_changed.connect(indicator.show_status)
    with qtbot.waitSignal(controller.status_changed):
        controller.start()
    assert LOG_IN_AGAIN in indicator.label.text()

    qtbot.waitUntil(lambda: controller.idle)
    assert not controller.sync_if_due()  # the timer would only be refused again
    with qtbot.waitSignal(controller.status_changed):
        controller.schedule_sync()  # a decision saved: only the pending count is refreshed
    assert sync.sync_calls == 1

    with qtbot.waitSignal(controller.status_changed):
        controller.sync_now()  # the user may always try
    assert sync.sync_calls == 2
    controller.stop()


def test_timer_waits_for_the_backoff_and_a_saved_change_syncs_soon(qtbot, pools) -> None:
    now = [T0]
    sync = FakeSync(make_status(pending=1))
    sync.fail = SyncError(UNREACHABLE, kind=SyncErrorKind.NETWORK)
    sync.retry_at = T0 + timedelta(minutes=2)
    controller = SyncController(sync, pools, poll_ms=3_600_000, debounce_ms=1,
                                clock=lambda: now[0])
    with qtbot.waitSignal(controller.status_changed):
        controller.start()

    qtbot.waitUntil(lambda: controller.idle)
    assert not controller.sync_if_due()  # offline, backing off
    with qtbot.waitSignal(controller.status_changed):
        controller.schedule_sync()  # a saved change while offline: only the count refreshes
    assert sync.sync_calls == 1

    now[0] = T0 + timedelta(minutes=3)
    sync.fail = None
    qtbot.waitUntil(lambda: controller.idle)
    with qtbot.waitSignal(controller.sync_finished):
        assert controller.sync_if_due()
    assert sync.sync_calls == 2

    with qtbot.waitSignal(controller.sync_finished):
        controller.schedule_sync()  # online: a saved change is sent a moment later
    assert sync.sync_calls == 3
    controller.stop()


def test_saved_readings_and_decisions_schedule_a_sync(qtbot, sync_window, store, user) -> None:
    sync = FakeSync(make_status())
    window = sync_window(sync)
    assert window.sync_controller is not None
    assert not window.sync_controller.sync_scheduled
    window.decision_signed.emit(store_reading(store, user_id=user.id, path="/d/x.png", n=3))
    assert window.sync_controller.sync_scheduled


def test_sync_now_runs_one_pass_and_is_in_the_menu_with_its_shortcut(
        qtbot, sync_window, pools) -> None:
    sync = FakeSync(make_status(pending=1))
    window = sync_window(sync)
    controller, indicator = window.sync_controller, window.sync_indicator
    assert controller is not None and indicator is not None
    qtbot.waitUntil(lambda: sync.sync_calls == 1 and not controller.running)
    qtbot.waitUntil(lambda: pools.live_count == 0)

    menu_actions = {a.text(): a for m in window.menuBar().actions() if m.menu()
                    for a in m.menu().actions()}
    assert menu_actions["Sync &now"] is indicator.sync_now_action
    assert indicator.sync_now_action.shortcut().toString() == SYNC_NOW_SHORTCUT

    with qtbot.waitSignal(controller.sync_finished):
        indicator.sync_button.click()
    assert sync.sync_calls == 2
    qtbot.waitUntil(lambda: pools.live_count == 0)
    assert sync.sync_calls == 2  # one click, one pass


def test_after_a_sync_the_worklist_shows_the_readings_sync_state(
        qtbot, sync_window, store, user) -> None:
    store_reading(store, user_id=user.id, path="/data/a.png", n=1)
    sync = FakeSync(make_status(pending=1))
    gate = threading.Event()
    sync.on_sync = lambda: gate.wait(30)  # hold the first pass until the row is listed
    window = sync_window(sync)
    qtbot.waitUntil(lambda: worklist_by_file(window).get("a.png", {}).get("Sync") == "pending")

    def send_everything() -> None:
        store.mark_outbox_done([entry.id for entry in store.pending_outbox(100)])

    sync.on_sync = send_everything
    gate.set()
    assert window.sync_controller is not None
    with qtbot.waitSignal(window.sync_controller.sync_finished):
        window.sync_controller.sync_now()
    qtbot.waitUntil(lambda: worklist_by_file(window)["a.png"]["Sync"] == "synced")


def test_conflicts_are_offered_listed_side_by_side_and_marked_reviewed(
        qtbot, sync_window, store, user) -> None:
    reading = store_reading(store, user_id=user.id, path="/data/case7.png", n=7)
    sync = FakeSync(make_status(conflicts=1), conflicts=[make_conflict(reading.id)])
    window = sync_window(sync)
    indicator = window.sync_indicator
    assert indicator is not None
    qtbot.waitUntil(lambda: indicator.review_action.isEnabled())
    assert "1 conflict" in indicator.label.text()
    assert not indicator.review_button.isHidden()

    indicator.review_action.trigger()
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, ConflictsDialog) and w.isVisible())
    qtbot.waitUntil(lambda: dialog.list.count() == 1)
    assert "case7.png" in dialog.list.item(0).text()
    rows = {dialog.table.item(r, 0).text(): (dialog.table.item(r, 1).text(),
                                             dialog.table.item(r, 2).text())
            for r in range(dialog.table.rowCount())}
    assert rows["BI-RADS"] == ("2", "4")
    assert rows["Agrees with model"] == ("yes", "no")
    assert rows["Note"] == ("benign", "biopsy")
    assert rows["image.width"] == ("96", "96")
    assert rows["Reader"] == ("—", "reader")
    assert dialog.table.item(0, 0).text() == "Agrees with model"  # the decision comes first
    assert dialog.table.item(0, 1).font().bold()  # differs
    assert not dialog.table.item(rows_order(dialog).index("Reader"), 1).font().bold()

    sync.set_status(make_status(conflicts=0))
    with qtbot.waitSignal(dialog.conflict_resolved) as resolved:
        dialog.mark_reviewed.click()
    assert resolved.args == [7]
    assert sync.resolved == [7]
    assert dialog.list.count() == 0
    assert dialog.message.text() == NO_CONFLICTS
    assert not dialog.mark_reviewed.isEnabled()
    qtbot.waitUntil(lambda: not indicator.review_action.isEnabled())
    dialog.close()


def rows_order(dialog: ConflictsDialog) -> list[str]:
    return [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]


class ServerLoginDriver:
    """Plays the user while main() runs: logs in, waits for the sync indicator, quits."""

    def __init__(self, sync: FakeSync) -> None:
        self.dialog_type: type | None = None
        self.indicator: str | None = None
        self._sync = sync
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._on_timeout)
        self._timer.start()
        QTimer.singleShot(120_000, lambda: QApplication.exit(99))  # never hang the suite

    def _on_timeout(self) -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None and self.dialog_type is None:
            self.dialog_type = type(dialog)
            if isinstance(dialog, LoginDialog):
                dialog.username.setText("reader")
                dialog.password.setText(PASSWORD)
                dialog.buttons.accepted.emit()
            return
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible():
                indicator = widget.sync_indicator
                if indicator is not None and indicator.label.text().startswith("Online"):
                    self.indicator = indicator.label.text()
                    self._timer.stop()
                    widget.close()


def test_main_with_a_server_logs_in_through_the_sync_service(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings) -> None:
    data = tmp_path / "server-data"
    monkeypatch.setenv("MAMMO_DATA_DIR", str(data))
    monkeypatch.setenv("MAMMO_MODEL_DIR", str(tmp_path / "no-model"))
    monkeypatch.setenv("MAMMO_SERVER_URL", SERVER)
    data.mkdir()
    with Store.open(data / "mammo.sqlite3") as store:  # as the last online login left it
        user = store.get_user(store.create_local_account("reader", PASSWORD))
    sync = FakeSync(make_status(pending=4), user=user)
    built: list[str | None] = []

    def fake_build_sync(settings_: Any, _store: Store) -> FakeSync:
        built.append(settings_.server_url)
        return sync

    monkeypatch.setattr("app.main.build_sync", fake_build_sync)
    driver = ServerLoginDriver(sync)

    assert main([]) == 0

    assert built == [SERVER]
    assert driver.dialog_type is LoginDialog  # no first-run account creation with a server
    assert sync.logins == [("reader", PASSWORD)]
    assert driver.indicator == "Online · 4 pending · last sync " + \
        T0.astimezone().strftime("%d %b %H:%M")
    assert sync.closed_with_jobs_in_flight == 0  # closed after the pools drained


def test_without_a_server_the_window_says_local_only(qtbot, make_window) -> None:
    window = make_window()
    assert window.sync_indicator is None and window.sync_controller is None
    texts = [w.text() for w in window.statusBar().findChildren(type(window.banner))]
    assert any("local only (no server configured)" in text for text in texts)
    assert "S&ync" not in [action.text() for action in window.menuBar().actions()]
