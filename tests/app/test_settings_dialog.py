"""The settings dialog writes the user's settings file, which the next start reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings_dialog import SettingsDialog
from app.settings_file import write_user_settings
from core.errors import SettingsError
from core.settings import load_settings


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
