"""Settings: defaults, site file, user file, then MAMMO_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import SettingsError
from core.settings import load_settings


def test_defaults_keep_each_user_in_their_own_data_dir(isolated_env: Path):
    s = load_settings()
    assert s.data_dir == isolated_env / "data" / "mammo-workstation"
    assert s.engine == "auto" and s.model_dir is None
    assert s.resolved_model_dir.name == "densenet121-mil"


def test_site_then_user_file_then_environment(isolated_env: Path, monkeypatch):
    site = isolated_env / "site" / "mammo-workstation"
    site.mkdir(parents=True)
    (site / "site.toml").write_text('server_url = "https://pacs.example"\nengine = "tf"\n'
                                    'offline_login_days = 3\n')
    user = isolated_env / "config" / "mammo-workstation"
    user.mkdir(parents=True)
    (user / "settings.toml").write_text('engine = "onnx"\n')
    s = load_settings()
    assert s.server_url == "https://pacs.example" and s.offline_login_days == 3
    assert s.engine == "onnx"  # the user's file wins over the site file
    monkeypatch.setenv("MAMMO_ENGINE", "tf")
    assert load_settings().engine == "tf"  # the environment wins over both


def test_it_presets_the_blinded_first_read_in_the_site_file(isolated_env: Path):
    assert load_settings().blinded_first_read is False  # off unless IT or the reader asks
    site = isolated_env / "site" / "mammo-workstation"
    site.mkdir(parents=True)
    (site / "site.toml").write_text("blinded_first_read = true\n")
    assert load_settings().blinded_first_read is True


def test_bad_values_and_unknown_keys_are_refused(isolated_env: Path, monkeypatch):
    user = isolated_env / "config" / "mammo-workstation"
    user.mkdir(parents=True)
    (user / "settings.toml").write_text("batch_size = 0\n")
    with pytest.raises(SettingsError, match="batch_size"):
        load_settings()
    (user / "settings.toml").write_text('colour = "blue"\n')
    with pytest.raises(SettingsError, match="colour"):
        load_settings()
    (user / "settings.toml").write_text("schema_version = 99\n")
    with pytest.raises(SettingsError, match="newer version"):
        load_settings()
    (user / "settings.toml").write_text("this is = not toml = at all\n")
    with pytest.raises(SettingsError):
        load_settings()
