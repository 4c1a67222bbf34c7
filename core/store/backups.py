"""Copies of the store file kept next to it, so that a damaged store can be replaced.

Two kinds: ``<name>.bak-<revision>-<stamp>`` made before a schema upgrade (see
:mod:`core.store.migration`), and ``<name>.bak-daily-<stamp>`` made at the first start of a day
on a store that passed its integrity check. The newest one is what the refusal of a damaged
store offers.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.store.database import BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)

DAILY = "daily"
KEEP_DAILY = 3
DAILY_EVERY = timedelta(hours=20)
"""A new daily copy once the newest backup is older than this (a workday, with some slack)."""


def backups_of(path: Path) -> list[Path]:
    """Every backup of the store at ``path``, newest first."""
    found = [p for p in path.parent.glob(f"{path.name}.bak-*") if p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def newest_backup(path: Path) -> Path | None:
    """The most recent backup of the store at ``path``, if there is one."""
    try:
        found = backups_of(path)
    except OSError:
        return None  # the folder cannot be listed: there is nothing to offer
    return found[0] if found else None


def keep_daily_backup(path: Path, *, now: datetime | None = None) -> Path | None:
    """Copy the store at ``path`` when its newest backup is older than :data:`DAILY_EVERY`,
    and drop daily copies beyond the newest :data:`KEEP_DAILY`. Returns the new copy, if any.

    Call it only on a store that passed its integrity check. A copy that fails (disk full,
    no permission) is logged and skipped: it must never stop the radiologist's work.
    """
    now = now or datetime.now(UTC)
    newest = newest_backup(path)
    if newest is not None:
        made = datetime.fromtimestamp(newest.stat().st_mtime, UTC)
        if now - made < DAILY_EVERY:
            return None
    stem = f"{path.name}.bak-{DAILY}-{now.strftime('%Y%m%dT%H%M%SZ')}"
    target, suffix = path.with_name(stem), 1
    while target.exists():
        target, suffix = path.with_name(f"{stem}-{suffix}"), suffix + 1
    try:
        with (
            contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as source,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
    except (sqlite3.Error, OSError) as exc:
        target.unlink(missing_ok=True)
        log.warning("Daily backup of %s failed (%s); trying again at the next start", path, exc)
        return None
    log.info("Backed up %s to %s", path, target)
    daily = [p for p in backups_of(path) if p.name.startswith(f"{path.name}.bak-{DAILY}-")]
    for old in daily[KEEP_DAILY:]:
        with contextlib.suppress(OSError):  # an old copy left behind harms nothing
            old.unlink()
    return target
