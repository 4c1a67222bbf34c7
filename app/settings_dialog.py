"""Settings: server URL, CA certificate, model folder, engine and device, data directory.

The dialog only collects values and checks them: Save keeps it open, with the reason next to
the field, while a value would be refused, so nothing typed is lost. The window writes them to
the user's settings file on a worker. They apply at the next start (the store, the model and
the connection are built once, by the composition root).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QApplication,
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

from app.pacs_settings_box import PacsSettingsBox
from app.settings_file import check_setting
from app.theme import FIELD_ERROR_STYLE
from app.worker import JobPools
from core.errors import SettingsError
from core.settings import Settings, bundled_model_dir

ENGINES = ("auto", "onnx", "tf")
DEVICES = ("auto", "cpu", "gpu")


class SettingsDialog(QDialog):
    """Edits the user's settings; :meth:`changes` gives what to write."""

    def __init__(self, settings: Settings, *, config_file: str,
                 parent: QWidget | None = None, pools: JobPools | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)  # room for a model folder's path and its error
        self.server_url = QLineEdit(settings.server_url or "")
        self.server_url.setPlaceholderText("none: this workstation works on its own")
        self.ca_cert = QLineEdit(str(settings.ca_cert) if settings.ca_cert else "")
        self.ca_cert.setPlaceholderText("the system's certificates")
        self._model_dir_shown = str(settings.model_dir) if settings.model_dir else ""
        self.model_dir = QLineEdit(self._model_dir_shown)
        self.model_dir.setPlaceholderText(f"the bundled model ({bundled_model_dir()})")
        self.engine = QComboBox()
        self.engine.addItems(ENGINES)
        self.engine.setCurrentText(settings.engine)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.data_dir = QLineEdit(str(settings.data_dir))
        self.errors = {key: _error_label() for key in
                       ("server_url", "ca_cert", "model_dir", "engine", "device", "data_dir")}
        form = QFormLayout()
        self._add_row(form, "Server URL", self.server_url, "server_url")
        self._add_row(form, "CA certificate", _row(self.ca_cert, self._browse_button(
            self._on_browse_cert_clicked)), "ca_cert")
        self._add_row(form, "Model folder", _row(self.model_dir, self._browse_button(
            self._on_browse_model_clicked)), "model_dir")
        self._add_row(form, "Engine", self.engine, "engine")
        self._add_row(form, "Device", self.device, "device")
        self._add_row(form, "Data directory", _row(self.data_dir, self._browse_button(
            self._on_browse_data_clicked)), "data_dir")
        self.pacs = PacsSettingsBox(settings, pools=pools)
        note = QLabel(f"Saved in {config_file}. Changes apply when Mammo Workstation is started "
                      "again. Readings stay in the data directory they were made in.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.pacs)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

    def changes(self) -> dict[str, str | int | None]:
        """The values to write; empty text removes the key (back to the site's default).

        The model folder is written only when it was edited: the one shown may come from the
        site file or MAMMO_MODEL_DIR, and checking a model reads all of its files.
        """
        values: dict[str, str | int | None] = {
            "server_url": self.server_url.text().strip() or None,
            "ca_cert": self.ca_cert.text().strip() or None,
            "engine": self.engine.currentText(),
            "device": self.device.currentText(),
            "data_dir": self.data_dir.text().strip() or None,
        }
        model_dir = self.model_dir.text().strip()
        if model_dir != self._model_dir_shown:
            values["model_dir"] = model_dir or None
        return values | self.pacs.changes()

    def accept(self) -> None:
        """Close only with values the program will take; else say why next to each field."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # a model check takes seconds
        try:
            problems = self._problems()
        finally:
            QApplication.restoreOverrideCursor()
        for key, label in self.errors.items():
            label.setText(problems.get(key, ""))
            label.setVisible(key in problems)
        self.pacs.show_problems(problems)
        if problems:
            return
        super().accept()

    def _problems(self) -> dict[str, str]:
        problems = self.pacs.problems()
        for key, value in self.changes().items():
            if key in problems:
                continue
            try:
                check_setting(key, value)
            except SettingsError as exc:
                problems[key] = exc.message
        return problems

    def _add_row(self, form: QFormLayout, label: str, field: QWidget, key: str) -> None:
        form.addRow(label, field)
        form.addRow("", self.errors[key])

    def _browse_button(self, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton("Browse…")
        button.clicked.connect(slot)
        return button

    @Slot()
    def _on_browse_cert_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CA certificate", self.ca_cert.text(),
                                              "Certificates (*.pem *.crt *.cer);;All files (*)")
        if path:
            self.ca_cert.setText(path)

    @Slot()
    def _on_browse_model_clicked(self) -> None:
        start = self.model_dir.text() or str(bundled_model_dir())
        path = QFileDialog.getExistingDirectory(self, "Model folder (with manifest.json)", start)
        if path:
            self.model_dir.setText(path)

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


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(FIELD_ERROR_STYLE)
    label.setVisible(False)
    return label
