"""`mammo-server` commands and the migrations, on a database of their own."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect

from server import cli
from server.db import migrate
from server.main import create_app
from tests.server import factories, pg


@pytest.fixture
def empty_db(monkeypatch, tmp_path):
    """A fresh, unmigrated database, and the environment pointing the CLI at it."""
    try:
        url = pg.create_database("mammo_cli")
    except pg.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    config = tmp_path / "server.toml"
    config.write_text(f'database_url = "{url}"\nsecret_key = "{factories.SECRET}"\n')
    monkeypatch.setenv("MAMMO_SERVER_CONFIG_FILE", str(config))
    for name in ("DATABASE_URL", "SECRET_KEY", "ENVIRONMENT"):
        monkeypatch.delenv(f"MAMMO_SERVER_{name}", raising=False)
    yield url
    pg.drop_database(url)


def test_check_config_fails_until_migrated(empty_db, capsys):
    assert cli.main(["check-config"]) == 1
    assert "run `mammo-server migrate`" in capsys.readouterr().err

    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0, "migrating twice is harmless"
    assert cli.main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert factories.SECRET not in out and "secret_key = ********" in out


def test_readyz_is_503_until_migrated(empty_db):
    settings = factories.make_settings(empty_db)
    with TestClient(create_app(settings)) as client:
        before = client.get("/readyz")
        migrate.upgrade(empty_db)
        after = client.get("/readyz")

    assert before.status_code == 503
    assert before.json()["error"]["detail"]["migrations_at_head"] is False
    assert after.status_code == 200


def test_create_user_reads_the_password_from_stdin(empty_db, monkeypatch):
    cli.main(["migrate"])
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))

    assert cli.main(["create-user", "--username", "dr-who", "--role", "admin"]) == 0

    with TestClient(create_app(factories.make_settings(empty_db))) as client:
        tokens = factories.login(client, "dr-who", "a long enough password")
        me = client.get("/users/me", headers=factories.bearer(tokens)).json()
    assert me["role"] == "admin"

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["create-user", "--username", "dr-who"]) == 2, "taken username"


def test_create_user_refuses_a_short_password(empty_db, monkeypatch):
    cli.main(["migrate"])
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["create-user", "--username", "dr-no"]) == 2


def test_migrations_go_down_and_up_again(empty_db):
    migrate.upgrade(empty_db)
    engine = create_engine(empty_db)
    try:
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert "readings" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_cli_reports_bad_settings(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MAMMO_SERVER_CONFIG_FILE", str(tmp_path / "missing.toml"))
    assert cli.main(["check-config"]) == 2
    assert "does not exist" in capsys.readouterr().err
