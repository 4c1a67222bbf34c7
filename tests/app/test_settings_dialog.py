"""The settings dialog writes the user's settings file, which the next start reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from app.settings_dialog import SettingsDialog
from app.settings_file import write_user_settings
from core.errors import SettingsError
from core.settings import load_settings
from tests.app.factories import write_model_folder


def test_dialog_values_are_written_and_read_back(qtbot, settings, tmp_path: Path) -> None:
    config = Path(os.environ["MAMMO_CONFIG_FILE"])
    config.parent.mkdir(parents=True)
    config.write_text("batch_size = 8\n")  # a key the dialog does not show is kept
    cert = tmp_path / "hospital-ca.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    dialog = SettingsDialog(settings, config_file=str(config))
    qtbot.addWidget(dialog)
    dialog.server_url.setText("https://mammo.hospital.example")
    dialog.ca_cert.setText(str(cert))
    dialog.engine.setCurrentText("onnx")
    dialog.device.setCurrentText("cpu")

    write_user_settings(config, dialog.changes())

    reread = load_settings()
    assert reread.server_url == "https://mammo.hospital.example"
    assert reread.ca_cert == cert
    assert (reread.engine, reread.device, reread.batch_size) == ("onnx", "cpu", 8)
    assert reread.data_dir == settings.data_dir


@pytest.mark.parametrize("changes", [
    {"server_url": "http://mammo.hospital.example"},
    {"ca_cert": "/no/such/ca.pem"},
    {"engine": "tensorrt"},
])
def test_unusable_values_are_refused_before_writing(tmp_path: Path, changes) -> None:
    config = tmp_path / "settings.toml"
    with pytest.raises(SettingsError):
        write_user_settings(config, changes)
    assert not config.exists()


def test_emptied_field_removes_the_key(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    write_user_settings(config, {"server_url": "https://a.example"})
    write_user_settings(config, {"server_url": None})
    assert "server_url" not in config.read_text()


def _save(qtbot, dialog: SettingsDialog) -> None:
    dialog.open()
    qtbot.waitExposed(dialog)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def test_a_refused_server_url_keeps_the_dialog_open_with_the_reason(qtbot, settings) -> None:
    dialog = SettingsDialog(settings, config_file="settings.toml")
    qtbot.addWidget(dialog)
    dialog.server_url.setText("http://pacs.hospital.org")

    _save(qtbot, dialog)

    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.errors["server_url"].isVisible()
    assert "must start with https://" in dialog.errors["server_url"].text()
    assert dialog.server_url.text() == "http://pacs.hospital.org"  # nothing typed is lost

    dialog.server_url.setText("https://pacs.hospital.org")
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert not dialog.errors["server_url"].isVisible()


def test_a_model_folder_is_checked_before_it_is_saved(qtbot, settings, tmp_path: Path) -> None:
    config = Path(os.environ["MAMMO_CONFIG_FILE"])
    folder = write_model_folder(tmp_path / "model")
    (folder / "model.onnx").write_bytes(b"changed")
    dialog = SettingsDialog(settings, config_file=str(config))
    qtbot.addWidget(dialog)
    dialog.model_dir.setText(str(folder))

    _save(qtbot, dialog)

    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert "model.onnx does not match its manifest" in dialog.errors["model_dir"].text()

    write_model_folder(folder)  # reinstalled
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    write_user_settings(config, dialog.changes())
    assert load_settings().model_dir == folder


def test_an_unchanged_model_folder_is_not_written(qtbot, settings) -> None:
    dialog = SettingsDialog(settings, config_file="settings.toml")
    qtbot.addWidget(dialog)
    assert "model_dir" not in dialog.changes()  # it may come from the site file
    dialog.model_dir.setText("")
    assert dialog.changes()["model_dir"] is None  # emptied: back to the bundled model
