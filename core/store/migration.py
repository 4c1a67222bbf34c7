"""Bring a store file to the schema this code expects: inspect, back up, then upgrade.

The file is first inspected read-only, so that a damaged file, a foreign SQLite file or a
database written by a newer version of the app is refused without being touched. A file that
is behind is copied with SQLite's online backup API (which includes pages still in the WAL)
before Alembic upgrades it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.errors import StoreError
from core.store.backups import newest_backup
from core.store.database import BUSY_TIMEOUT_MS, store_error

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
VERSION_TABLE = "alembic_version"


def migrate(path: Path, engine: Engine, *, script_location: Path = MIGRATIONS_DIR) -> Path | None:
    """Upgrade the store at ``path`` (reached through ``engine``) to the newest revision.

    Returns:
        The backup made before upgrading, or None when none was needed (new file, or already
        at the newest revision).

    Raises:
        StoreError: the file is damaged, not a Mammo database, from a newer app version, or
            could not be backed up or upgraded. In the first three cases it was not changed.
    """
    config = Config()
    config.set_main_option("script_location", str(script_location))
    script = ScriptDirectory.from_config(config)
    current = read_revisions(path)
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = sorted(set(current or ()) - known)
    if unknown:
        raise StoreError(
            f"The local store at {path} was written by a newer version of Mammo Workstation "
            f"(schema {', '.join(unknown)}); it was not changed. Update Mammo Workstation."
        )
    backup = None
    if current and set(current) != set(script.get_heads()):
        backup = backup_database(path, revision="+".join(sorted(current)))
    _upgrade(path, engine, config)
    return backup


def read_revisions(path: Path) -> tuple[str, ...] | None:
    """The Alembic revisions recorded in ``path``, read without writing anything.

    Returns None for a new store (no file, an empty file, or an empty database).
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(
            sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        ) as connection:
            check = connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {check}")
            tables = {
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
            }
            if VERSION_TABLE not in tables:
                if tables:
                    raise sqlite3.DatabaseError(f"not a database of ours: tables {sorted(tables)}")
                return None
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error as exc:
        raise store_error(exc, path, opening=True, backup=newest_backup(path)) from exc
    return tuple(str(row[0]) for row in rows)


def backup_database(path: Path, *, revision: str) -> Path:
    """Copy ``path`` to ``<name>.bak-<revision>-<UTC timestamp>`` next to it and return it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bak-{revision}-{stamp}")
    suffix = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bak-{revision}-{stamp}-{suffix}")
        suffix += 1
    try:
        with (
            contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as source,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
    except (sqlite3.Error, OSError) as exc:
        target.unlink(missing_ok=True)
        log.error("Backup of %s to %s failed: %s", path, target, exc)
        raise StoreError(
            f"The local store at {path} needs an update, but it could not be backed up first, "
            f"so it was not changed. Check that the disk is not full and that you may write to "
            f"{path.parent}."
        ) from exc
    log.info("Backed up %s (schema %s) to %s", path, revision, target)
    return target


def _upgrade(path: Path, engine: Engine, config: Config) -> None:
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            # SQLite rebuilds tables to alter them; with foreign keys on, dropping the old copy
            # would cascade or fail. The pragma only works outside a transaction, hence raw.
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with connection.begin():
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"Updating the local store at {path} would break its records, so "
                            "the update was undone. Please report this problem."
                        )
            finally:
                raw.execute("PRAGMA foreign_keys = ON")
    except SQLAlchemyError as exc:
        raise store_error(exc, path) from exc
    finally:
        config.attributes.pop("connection", None)
