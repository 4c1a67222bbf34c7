"""The SQLite engine of the local store and the translation of its failures into StoreError."""

from __future__ import annotations

import errno
import logging
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event

from core.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "mammo_write"
"""Execution option: a connection carrying it starts its transactions with BEGIN IMMEDIATE."""


def create_store_engine(path: Path) -> Engine:
    """One engine (with its connection pool) for the store file at ``path``; connects lazily.

    Every new connection gets WAL, foreign keys, ``synchronous=NORMAL`` and a busy timeout.
    SQLAlchemy, not the sqlite3 module, emits BEGIN, so that DDL is transactional and write
    transactions take the write lock up front (see :func:`_on_begin`).
    """
    url = URL.create("sqlite+pysqlite", database=str(path))
    # check_same_thread=False: pooled connections move between worker threads; the pool
    # guarantees that only one thread uses a connection at a time.
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("SQLite refused WAL mode (journal_mode=%s); is the store on a share?", mode)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes can fail at once with "database is
    # locked" when another connection wrote meanwhile (the busy timeout does not apply), so
    # writers take the write lock at BEGIN and wait their turn instead.
    if connection.get_execution_options().get(WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def store_error(
    exc: BaseException, path: Path, *, opening: bool = False, backup: Path | None = None
) -> StoreError:
    """A StoreError with a message the user can act on; the caller chains ``exc`` as cause.

    ``backup``: the newest copy of the store, offered when the file is found damaged.
    """
    detail = str(getattr(exc, "orig", None) or exc).lower()
    log.error("Local store %s failed: %s", path, exc)
    if "locked" in detail or "busy" in detail:
        return StoreError(
            f"The local store at {path} is in use by another program (perhaps a second Mammo "
            "Workstation window). Close it and try again."
        )
    if "not a database" in detail or "malformed" in detail or "corrupt" in detail:
        if opening:
            return StoreError(
                f"The local store at {path} is damaged or not a Mammo database; it was not "
                f"changed. {_what_to_do_when_damaged(path, backup)}"
            )
        return StoreError(
            f"The local store at {path} is damaged. Close Mammo Workstation and restore a "
            "backup, or ask IT for help."
        )
    if "disk is full" in detail or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
        return StoreError(
            f"The disk holding the local store ({path.parent}) is full, so the last change was "
            "not saved; everything saved before it is safe. Free some space (or ask IT), then "
            "do it again."
        )
    writable = ("readonly", "read-only", "unable to open", "disk i/o", "full", "permission")
    if any(word in detail for word in writable) or isinstance(exc, OSError):
        return StoreError(
            f"The local store at {path} cannot be opened or written. Check that the disk is "
            f"not full and that you may write to {path.parent}."
        )
    if isinstance(exc, sqlite3.IntegrityError) or "constraint" in detail:
        return StoreError(
            "The local store refused a change that would make its records inconsistent; "
            "nothing was saved. Please report this problem."
        )
    return StoreError(
        f"The local store at {path} could not be used; the log has details. Please report "
        "this problem."
    )


def _what_to_do_when_damaged(path: Path, backup: Path | None) -> str:
    synced = "your readings that reached the server come back at the next sync"
    if backup is None:
        return (
            "There is no backup of it. Move it aside and start Mammo Workstation again with an "
            f"empty store; {synced}."
        )
    made = datetime.fromtimestamp(backup.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return (
        f"A backup from {made} is {backup}: close Mammo Workstation, move {path.name} (and "
        f"{path.name}-wal and -shm if there) aside, copy the backup to {path}, and start "
        f"again; {synced}."
    )
