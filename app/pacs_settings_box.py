"""The PACS part of the Settings dialog: where the PACS is, the AE titles, the port for C-MOVE,
and "Test connection" (a C-ECHO with the values as typed, on a worker)."""

from __future__ import annotations

import re
from dataclasses import replace

from PySide6.QtCore import QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app import pacs_jobs
from app.worker import JobPools, Worker
from core.errors import MammoError
from core.pacs import PacsConfig
from core.settings import AE_TITLE_PATTERN, Settings

AE_KEYS = {"pacs_called_ae": "The PACS's AE title",
           "pacs_calling_ae": "This workstation's AE title"}


class PacsSettingsBox(QGroupBox):
    """Emits ``connection_tested(ok, text)`` when a test connection ends."""

    connection_tested = Signal(bool, str)

    def __init__(self, settings: Settings, *, pools: JobPools | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("PACS", parent)
        self._settings = settings
        self._pools = pools
        self._testing: Worker | None = None
        self.host = QLineEdit(settings.pacs_host or "")
        self.host.setPlaceholderText("none: results are saved to a folder")
        self.port = _port(settings.pacs_port)
        self.called_ae = _ae(settings.pacs_called_ae)
        self.calling_ae = _ae(settings.pacs_calling_ae)
        self.receive_port = _port(settings.pacs_receive_port)
        self.test = QPushButton("Test connection")
        self.result = QLabel()
        self.result.setWordWrap(True)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test)
        test_row.addWidget(self.result, 1)
        form = QFormLayout(self)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("PACS AE title", self.called_ae)
        form.addRow("This workstation's AE title", self.calling_ae)
        form.addRow("Receive port (C-MOVE)", self.receive_port)
        form.addRow(test_row)
        self.test.clicked.connect(self._on_test_clicked)

    def changes(self) -> dict[str, str | int | None]:
        """The values to write (an empty host removes the key: no PACS)."""
        return {"pacs_host": self.host.text().strip() or None, "pacs_port": self.port.value(),
                "pacs_called_ae": self.called_ae.text().strip(),
                "pacs_calling_ae": self.calling_ae.text().strip(),
                "pacs_receive_port": self.receive_port.value()}

    def problems(self) -> dict[str, str]:
        """What is wrong with the AE titles, by key."""
        out = {}
        for key, name in AE_KEYS.items():
            value = str(self.changes()[key])
            if not value or len(value) > 16 or not re.match(AE_TITLE_PATTERN, value):
                out[key] = f"{name} must be 1 to 16 characters, without a backslash."
        return out

    def show_problems(self, problems: dict[str, str]) -> None:
        """Say what is wrong with this box's values (the dialog checked them all)."""
        mine = [text for key, text in problems.items() if key.startswith("pacs_")]
        if mine:
            self._show(False, " ".join(mine))

    def config(self) -> PacsConfig | None:
        """A PACS as typed (TLS, CA and retrieve method from the settings)."""
        host = self.host.text().strip()
        base = PacsConfig.from_settings(self._settings) or PacsConfig(
            host=host, port=104, called_ae="PACS", calling_ae="MAMMOWS",
            tls=self._settings.pacs_tls, ca_cert=self._settings.ca_cert)
        if not host:
            return None
        return replace(base, host=host, port=self.port.value(),
                       called_ae=self.called_ae.text().strip(),
                       calling_ae=self.calling_ae.text().strip(),
                       receive_port=self.receive_port.value(), attempts=1)

    @Slot()
    def _on_test_clicked(self) -> None:
        config = self.config()
        problems = self.problems()
        if config is None or problems:
            text = "Enter the PACS's host first." if config is None else \
                next(iter(problems.values()))
            self._show(False, text)
            return
        self.test.setEnabled(False)
        self.result.setText(f"Asking {config.peer}…")
        worker = Worker(pacs_jobs.echo_job(config), name="PACS echo")
        # Bound slots, not lambdas: Qt drops them if the dialog is gone when the echo ends.
        worker.signals.result.connect(self._on_test_answered)
        worker.signals.error.connect(self._on_test_failed)
        worker.signals.finished.connect(self._on_test_finished)
        self._testing = worker
        if self._pools is not None:
            self._pools.start(worker, pool=self._pools.io)
        else:  # a dialog opened without the window's pools: self._testing keeps it alive
            QThreadPool.globalInstance().start(worker)

    @Slot(object)
    def _on_test_answered(self, text: str) -> None:
        self._show(True, text)

    @Slot()
    def _on_test_finished(self) -> None:
        self.test.setEnabled(True)
        self._testing = None

    @Slot(object)
    def _on_test_failed(self, error: BaseException) -> None:
        self._show(False, error.message if isinstance(error, MammoError)
                   else "The test failed unexpectedly; the log has the details.")

    def _show(self, ok: bool, text: str) -> None:
        self.result.setText(("✓ " if ok else "✗ ") + text)
        self.connection_tested.emit(ok, text)


def _port(value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(1, 65535)
    box.setValue(value)
    return box


def _ae(value: str) -> QLineEdit:
    field = QLineEdit(value)
    field.setMaxLength(16)
    return field
