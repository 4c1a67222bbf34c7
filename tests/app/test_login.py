"""First start creates the local account; later starts log in and refuse a wrong password."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog

from app.auth import LocalAuthenticator
from app.first_run_dialog import FirstRunDialog
from app.login_dialog import WRONG_CREDENTIALS, LoginDialog
from app.ui_state import state_file

PASSWORD = "a long local password"


def test_first_run_creates_account_then_login_checks_password(qtbot, store, pools) -> None:
    auth = LocalAuthenticator(store)
    assert auth.needs_first_run()
    first = FirstRunDialog(authenticator=auth, pools=pools)
    qtbot.addWidget(first)
    first.username.setText("alice")
    first.password.setText(PASSWORD)
    first.confirm.setText(PASSWORD + "x")
    first.buttons.accepted.emit()
    assert "differ" in first.message.text()
    assert auth.needs_first_run()

    first.confirm.setText(PASSWORD)
    with qtbot.waitSignal(first.account_created, timeout=30_000):
        first.buttons.accepted.emit()
    assert first.result() == QDialog.DialogCode.Accepted
    assert first.user is not None and first.user.username == "alice"
    assert not auth.needs_first_run()

    login = LoginDialog(authenticator=auth, pools=pools)
    qtbot.addWidget(login)
    login.username.setText("alice")
    login.password.setText("wrong password")
    login.buttons.accepted.emit()
    qtbot.waitUntil(lambda: login.message.text() == WRONG_CREDENTIALS, timeout=30_000)
    assert login.user is None
    assert login.result() != QDialog.DialogCode.Accepted
    assert login.password.text() == ""

    login.password.setText(PASSWORD)
    with qtbot.waitSignal(login.logged_in, timeout=30_000) as signal:
        login.buttons.accepted.emit()
    assert signal.args[0].username == "alice"
    assert login.result() == QDialog.DialogCode.Accepted


def test_first_run_refuses_a_short_password(qtbot, store, pools) -> None:
    dialog = FirstRunDialog(authenticator=LocalAuthenticator(store), pools=pools)
    qtbot.addWidget(dialog)
    dialog.username.setText("bob")
    dialog.password.setText("short")
    dialog.confirm.setText("short")
    dialog.buttons.accepted.emit()
    assert "at least" in dialog.message.text()
    assert not store.has_accounts()


def test_login_remembers_the_last_user_name_but_never_the_password(qtbot, store, pools,
                                                                   tmp_path) -> None:
    auth = LocalAuthenticator(store)
    store.create_local_account("alice", PASSWORD)
    remembered = state_file(tmp_path / "data")
    first = LoginDialog(authenticator=auth, pools=pools, state_file=remembered)
    qtbot.addWidget(first)
    assert first.username.text() == ""
    first.username.setText("alice")
    first.password.setText(PASSWORD)
    with qtbot.waitSignal(first.logged_in, timeout=30_000):
        first.buttons.accepted.emit()

    later = LoginDialog(authenticator=auth, pools=pools, state_file=remembered)
    qtbot.addWidget(later)

    assert later.username.text() == "alice"
    assert later.password.text() == ""
    assert PASSWORD not in remembered.read_text("utf-8")


def test_a_wrong_password_is_not_remembered_as_a_user(qtbot, store, pools, tmp_path) -> None:
    remembered = state_file(tmp_path)
    dialog = LoginDialog(authenticator=LocalAuthenticator(store), pools=pools,
                         state_file=remembered)
    qtbot.addWidget(dialog)
    dialog.username.setText("mallory")
    dialog.password.setText("guess")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: dialog.message.text() == WRONG_CREDENTIALS, timeout=30_000)

    assert not remembered.exists()
