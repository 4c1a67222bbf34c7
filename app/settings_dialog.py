"""Settings: server URL, CA certificate, engine and device, data directory.

The dialog only collects values; the window writes them to the user's settings file on a
worker. They apply at the next start (the store, the model and the connection are built once,
by the composition root).
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.settings import Settings

ENGINES = ("auto", "onnx", "tf")
DEVICES = ("auto", "cpu", "gpu")


class SettingsDialog(QDialog):
    """Edits the user's settings; :meth:`changes` gives what to write."""

    def __init__(self, settings: Settings, *, config_file: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.server_url = QLineEdit(settings.server_url or "")
        self.server_url.setPlaceholderText("none: this workstation works on its own")
        self.ca_cert = QLineEdit(str(settings.ca_cert) if settings.ca_cert else "")
        self.ca_cert.setPlaceholderText("the system's certificates")
        self.engine = QComboBox()
        self.engine.addItems(ENGINES)
        self.engine.setCurrentText(settings.engine)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.data_dir = QLineEdit(str(settings.data_dir))
        browse_cert = QPushButton("Browse…")
        browse_cert.clicked.connect(self._on_browse_cert_clicked)
        browse_data = QPushButton("Browse…")
        browse_data.clicked.connect(self._on_browse_data_clicked)
        form = QFormLayout()
        form.addRow("Server URL", self.server_url)
        form.addRow("CA certificate", _row(self.ca_cert, browse_cert))
        form.addRow("Engine", self.engine)
        form.addRow("Device", self.device)
        form.addRow("Data directory", _row(self.data_dir, browse_data))
        note = QLabel(f"Saved in {config_file}. Changes apply when Mammo Workstation is started "
                      "again. Readings stay in the data directory they were made in.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def changes(self) -> dict[str, str | None]:
        """The values to write; empty text removes the key (back to the site's default)."""
        return {
            "server_url": self.server_url.text().strip() or None,
            "ca_cert": self.ca_cert.text().strip() or None,
            "engine": self.engine.currentText(),
            "device": self.device.currentText(),
            "data_dir": self.data_dir.text().strip() or None,
        }

    @Slot()
    def _on_browse_cert_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CA certificate", self.ca_cert.text(),
                                              "Certificates (*.pem *.crt *.cer);;All files (*)")
        if path:
            self.ca_cert.setText(path)

    @Slot()
    def _on_browse_data_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Data directory", self.data_dir.text())
        if path:
            self.data_dir.setText(path)


def _row(field: QLineEdit, button: QPushButton) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(field, 1)
    layout.addWidget(button)
    return box
