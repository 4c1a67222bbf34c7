"""Alembic, driven from code: no alembic.ini, the scripts live in ``server/migrations``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this version of the server."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at, or ``None`` for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(target: str | Engine | Connection, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (a URL, an engine, or an open connection)."""
    _run(command.upgrade, target, revision)


def downgrade(target: str | Engine | Connection, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` empties it)."""
    _run(command.downgrade, target, revision)


def _run(
    step: Callable[[Config, str], None], target: str | Engine | Connection, revision: str
) -> None:
    if isinstance(target, Connection):
        step(_config(target), revision)
        return
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as connection:
            step(_config(connection), revision)
    finally:
        if isinstance(target, str):
            engine.dispose()
