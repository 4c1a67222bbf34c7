"""Fixtures shared by several test folders; each owns its cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

pytest_plugins = ["tests.pacs_fixtures"]  # a real Orthanc PACS for the PACS tests


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.model_factory import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home, config and data directory: tests never share a store."""
    for var in ("MAMMO_MODEL_DIR", "MAMMO_ENGINE", "MAMMO_DATA_DIR", "MAMMO_CONFIG_FILE",
                "MAMMO_SITE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "site"))
    return tmp_path
