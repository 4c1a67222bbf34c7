"""First start on a workstation with no account: create the local one (Argon2 in the store)."""

from __future__ import annotations

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
from app.worker import JobPools, Worker
from core.store import UserRecord

MIN_PASSWORD_LENGTH = 8


class FirstRunDialog(QDialog):
    """Creates the first account; ``user`` holds it once accepted (the user is logged in)."""

    account_created = Signal(object)  # UserRecord

    def __init__(self, *, authenticator: Authenticator, pools: JobPools,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome — Mammo Workstation")
        self.user: UserRecord | None = None
        self._auth = authenticator
        self._pools = pools
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.confirm = QLineEdit()
        for field in (self.password, self.confirm):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create account")
        self.buttons.accepted.connect(self._on_accepted)
        self.buttons.rejected.connect(self.reject)
        intro = QLabel(
            "No account exists on this workstation yet. Create yours: it signs every reading "
            "and decision you make here. The password is stored only as a secure hash.")
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("Repeat password", self.confirm)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    @Slot()
    def _on_accepted(self) -> None:
        problem = self._problem()
        if problem:
            self.message.setText(problem)
            return
        username, password = self.username.text().strip(), self.password.text()
        self.buttons.setEnabled(False)
        self.message.setText("Creating the account…")
        worker = Worker(lambda _cancel, _report: self._auth.create_account(username, password),
                        name="create account")
        worker.signals.result.connect(self._on_created)
        worker.signals.error.connect(self._on_failed)
        self._pools.start(worker, pool=self._pools.io)

    def _problem(self) -> str | None:
        if not self.username.text().strip():
            return "Enter a username."
        if len(self.password.text()) < MIN_PASSWORD_LENGTH:
            return f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
        if self.password.text() != self.confirm.text():
            return "The two passwords differ; type them again."
        return None

    @Slot(object)
    def _on_created(self, user: UserRecord) -> None:
        self.user = user
        self.account_created.emit(user)
        self.accept()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.message.setText("")
        show_error(self, error)
