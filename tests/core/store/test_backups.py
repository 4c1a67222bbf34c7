"""A copy of the store a day, and a damaged store refused untouched with the copy offered."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import Store
from core.store.backups import KEEP_DAILY, backups_of
from tests.core.store.factories import add_reading


def age(path: Path, *, hours: float) -> None:
    stamp = time.time() - hours * 3600
    os.utime(path, (stamp, stamp))


def damage(path: Path) -> None:
    """Scribble over the middle of the file, as a failing disk or a bad copy would."""
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : 3 * page] = b"\xa5" * page
    path.write_bytes(bytes(data))


def test_a_new_store_gets_no_backup_and_the_next_day_one_copy(store_path: Path) -> None:
    with Store.open(store_path) as store:
        reading = add_reading(store)
    assert backups_of(store_path) == []

    Store.open(store_path).close()
    Store.open(store_path).close()  # the same day: no second copy
    [first] = backups_of(store_path)
    age(first, hours=30)
    Store.open(store_path).close()

    newest, older = backups_of(store_path)
    assert older == first and newest.name.startswith("mammo.sqlite3.bak-daily-")
    with closing(sqlite3.connect(newest)) as copy:
        assert copy.execute("SELECT id FROM readings").fetchall() == [(reading.id,)]


def test_only_the_newest_daily_copies_are_kept(store_path: Path) -> None:
    Store.open(store_path).close()
    for day in range(KEEP_DAILY + 2):
        Store.open(store_path).close()
        for copy in backups_of(store_path):
            age(copy, hours=24 * (day + 1) + copy.stat().st_mtime % 1)

    assert len(backups_of(store_path)) == KEEP_DAILY


def test_a_damaged_store_is_refused_untouched_and_its_newest_backup_named(
    store_path: Path,
) -> None:
    with Store.open(store_path) as store:
        for _ in range(60):
            add_reading(store)
    Store.open(store_path).close()  # a day's first start: the copy to offer
    [backup] = backups_of(store_path)
    damage(store_path)
    before = {p.name: p.read_bytes() for p in store_path.parent.iterdir()}

    with pytest.raises(StoreError) as refused:
        Store.open(store_path)

    message = refused.value.message
    assert "damaged or not a Mammo database; it was not changed" in message
    assert str(backup) in message and f"copy the backup to {store_path}" in message
    after = {p.name: p.read_bytes() for p in store_path.parent.iterdir()}
    # Only SQLite's own side files of the read-only check may appear, and empty of changes.
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) <= {"mammo.sqlite3-wal", "mammo.sqlite3-shm"}
    assert after.get("mammo.sqlite3-wal", b"") == b""


def test_a_damaged_store_without_backup_says_so(store_path: Path) -> None:
    with Store.open(store_path) as store:
        for _ in range(60):
            add_reading(store)
    damage(store_path)

    with pytest.raises(StoreError, match="There is no backup of it"):
        Store.open(store_path)
