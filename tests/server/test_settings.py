"""Server settings: environment, file, and the refusal of weak secrets in production."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from server.errors import ConfigurationError
from server.settings import load_settings

STRONG = "s" * 48


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "SECRET_KEY", "ENVIRONMENT", "PREDICT_ENABLED", "CONFIG_FILE"):
        monkeypatch.delenv(f"MAMMO_SERVER_{name}", raising=False)
    monkeypatch.setenv("MAMMO_SERVER_CONFIG_FILE", str(tmp_path / "absent.toml"))
    (tmp_path / "absent.toml").write_text("")


def test_settings_come_from_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("MAMMO_SERVER_DATABASE_URL", "postgresql+psycopg2://u@db/mammo")
    monkeypatch.setenv("MAMMO_SERVER_ACCESS_TOKEN_MINUTES", "5")

    settings = load_settings()

    assert settings.database_url == "postgresql+psycopg2://u@db/mammo"
    assert settings.access_token_minutes == 5
    assert settings.predict_enabled is False


def test_settings_come_from_a_file(monkeypatch, tmp_path):
    path = tmp_path / "server.toml"
    path.write_text(f'environment = "production"\nsecret_key = "{STRONG}"\n')
    monkeypatch.setenv("MAMMO_SERVER_CONFIG_FILE", str(path))

    settings = load_settings()

    assert settings.environment == "production"
    assert settings.secret_key.get_secret_value() == STRONG


def test_a_missing_named_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MAMMO_SERVER_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings()


@pytest.mark.parametrize("secret", [None, "development-only-secret-change-me", "short"])
def test_production_refuses_a_missing_default_or_short_secret(monkeypatch, secret):
    monkeypatch.setenv("MAMMO_SERVER_ENVIRONMENT", "production")
    if secret is not None:
        monkeypatch.setenv("MAMMO_SERVER_SECRET_KEY", secret)

    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings()


def test_production_accepts_a_strong_secret(monkeypatch):
    monkeypatch.setenv("MAMMO_SERVER_ENVIRONMENT", "production")
    monkeypatch.setenv("MAMMO_SERVER_SECRET_KEY", STRONG)
    assert load_settings().environment == "production"


def test_unknown_keys_are_refused(monkeypatch, tmp_path):
    path = tmp_path / "server.toml"
    path.write_text("secrte_key = 'typo'\n")
    monkeypatch.setenv("MAMMO_SERVER_CONFIG_FILE", str(path))
    with pytest.raises(ConfigurationError, match="secrte_key"):
        load_settings()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_bare_postgres_url_uses_the_installed_psycopg2(monkeypatch, scheme):
    monkeypatch.setenv("MAMMO_SERVER_DATABASE_URL", f"{scheme}://mammo:pw@db:5432/mammo")

    url = load_settings().database_url

    assert url == "postgresql+psycopg2://mammo:pw@db:5432/mammo"
    assert make_url(url).get_dialect().driver == "psycopg2"  # the driver loads: it is installed


def test_an_explicit_driver_is_kept(monkeypatch):
    monkeypatch.setenv("MAMMO_SERVER_DATABASE_URL", "postgresql+psycopg://u@db/mammo")
    assert load_settings().database_url == "postgresql+psycopg://u@db/mammo"
