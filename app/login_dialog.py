"""Log in to the workstation (later starts), or again for sync once the server login has
expired. The check runs on a worker: Argon2 and the server are slow. The user name that last
logged in is filled in (:mod:`app.ui_state`); the password never is."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.auth import Authenticator
from app.errors import show_error
from app.ui_state import last_username, remember_username
from app.worker import JobPools, Worker
from core.store import UserRecord

WRONG_CREDENTIALS = "Wrong username or password."
OTHER_ACCOUNT = "Log in again as {username}; to change account, restart the workstation."


class LoginDialog(QDialog):
    """Asks for a username and password; ``user`` holds the account once accepted.

    With ``username`` (logging in again while the app runs) the field is read-only and no
    other account is accepted: the open window, its readings and its sync queue belong to
    that user. With ``state_file``, the user name is remembered there for the next start.
    """

    logged_in = Signal(object)  # UserRecord

    def __init__(self, *, authenticator: Authenticator, pools: JobPools,
                 username: str | None = None, state_file: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log in — Mammo Workstation")
        self.user: UserRecord | None = None
        self._auth = authenticator
        self._pools = pools
        self._fixed_username = username
        self._state_file = state_file
        remembered = None
        if username is None and state_file is not None:
            remembered = last_username(state_file)
        self.username = QLineEdit(username or remembered or "")
        self.username.setReadOnly(username is not None)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Log in")
        self.buttons.accepted.connect(self._on_accepted)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Log in with your workstation account."))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        if username is not None or remembered:
            self.password.setFocus()

    @Slot()
    def _on_accepted(self) -> None:
        username, password = self.username.text(), self.password.text()
        if not username.strip() or not password:
            self.message.setText("Enter your username and password.")
            return
        if not self._is_fixed_user(username):
            self.message.setText(OTHER_ACCOUNT.format(username=self._fixed_username))
            return
        self._set_busy(True)
        state_file = self._state_file

        def log_in(_cancel: object, _report: object) -> UserRecord | None:
            user = self._auth.authenticate(username, password)
            if user is not None and state_file is not None:
                remember_username(state_file, user.username)
            return user

        worker = Worker(log_in, name="log in")
        worker.signals.result.connect(self._on_checked)
        worker.signals.error.connect(self._on_failed)
        self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_checked(self, user: UserRecord | None) -> None:
        self._set_busy(False)
        if user is None:
            self.password.clear()
            self.password.setFocus()
            self.message.setText(WRONG_CREDENTIALS)
            return
        if not self._is_fixed_user(user.username):
            self.password.clear()
            self.message.setText(OTHER_ACCOUNT.format(username=self._fixed_username))
            return
        self.user = user
        self.logged_in.emit(user)
        self.accept()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        show_error(self, error)

    def _is_fixed_user(self, username: str) -> bool:
        return self._fixed_username is None or username == self._fixed_username

    def _set_busy(self, busy: bool) -> None:
        self.buttons.setEnabled(not busy)
        if busy:
            self.message.setText("Checking…")
