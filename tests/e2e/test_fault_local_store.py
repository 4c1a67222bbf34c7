"""The workstation's local store under faults, end to end with real processes and a real file
system: the program SIGKILLed while it writes readings, the disk full while it writes, the
store file damaged. Every reading saved before the fault is there once and queued once, and
reaches the server once."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import Store
from core.store.backups import backups_of
from tests.e2e.sync_support import PASSWORD, REPO, make_readings, server_ids, workstation

pytestmark = pytest.mark.slow


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def queued_once(path: Path) -> bool:
    """Every reading has exactly one outbox entry, and every entry a reading."""
    with closing(sqlite3.connect(path)) as connection:
        readings = {r for (r,) in connection.execute("SELECT id FROM readings")}
        entries = [e for (e,) in connection.execute(
            "SELECT entity_id FROM outbox WHERE entity = 'reading'")]  # fmt: skip
    return sorted(entries) == sorted(readings)


def test_the_client_killed_while_writing_readings_recovers_at_its_next_start(
    server, sync_database, radiologist, tmp_path: Path
) -> None:
    path = tmp_path / "ws" / "mammo.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.store_writer", str(path), radiologist],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    confirmed: list[str] = []
    try:
        assert writer.stdout is not None
        while len(confirmed) < 400:
            line = writer.stdout.readline()
            assert line, f"the writer stopped by itself (exit {writer.poll()})"
            confirmed.extend(line.split())
        writer.send_signal(signal.SIGKILL)  # in the middle of its next batch
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert Path(f"{path}-wal").stat().st_size > 0  # the next start has a journal to recover

    store, service = workstation(path.parent, server.url, server.certs.ca)
    stored = {r.id for r in store.list_readings()}

    assert integrity(path) == "ok"
    assert set(confirmed) <= stored  # nothing the program was told was saved is lost
    assert len(stored) - len(confirmed) in (0, 20)  # the batch in flight: all of it or none
    assert queued_once(path) and store.count_pending_outbox() == len(stored)

    service.log_in(radiologist, PASSWORD)
    report = service.sync_once()

    assert report.sent == len(stored) and report.status.nothing_left
    assert server_ids(sync_database, radiologist) == sorted(stored)
    service.close()
    store.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB file system of its own (tmpfs), so that the disk really fills up."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    done = subprocess.run([*sudo, "mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.fail(
            f"mounting a small tmpfs needs root or sudo without a password: {done.stderr}",
            pytrace=False,
        )
    try:
        yield mount
    finally:
        subprocess.run([*sudo, "umount", "-l", str(mount)], check=True)


def test_a_full_disk_says_so_keeps_what_was_saved_and_the_store_works_when_space_frees(
    small_disk: Path,
) -> None:
    path = small_disk / "data" / "mammo.sqlite3"
    store = Store.open(path)
    saved = make_readings(store, "dr-full", 100)
    filler = fill(small_disk / "other-files")  # another program takes the rest of the disk

    with pytest.raises(StoreError) as full:
        for _ in range(100):
            saved.extend(make_readings(store, "dr-full", 20))

    message = full.value.message
    assert "is full" in message and "everything saved before it is safe" in message
    assert sorted(r.id for r in store.list_readings()) == sorted(saved)

    filler.unlink()
    after = make_readings(store, "dr-full", 20)
    store.close()

    with Store.open(path) as reopened:
        assert sorted(r.id for r in reopened.list_readings()) == sorted(saved + after)
        assert reopened.count_pending_outbox() == len(saved) + len(after)
    assert integrity(path) == "ok" and queued_once(path)


def fill(path: Path) -> Path:
    """Write ``path`` until the disk is full."""
    with path.open("wb", buffering=0) as handle:
        try:
            while handle.write(b"\0" * 4096):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return path


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[3 * 4096 : 4 * 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(data))


def test_a_damaged_store_is_refused_untouched_and_its_backup_offered(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMMO_")}
    (tmp_path / "settings.toml").write_text("")
    env.update(
        MAMMO_DATA_DIR=str(tmp_path / "data"),
        MAMMO_CONFIG_FILE=str(tmp_path / "settings.toml"),
        MAMMO_SITE_CONFIG=str(tmp_path / "settings.toml"),
        PYTHONPATH=str(REPO),
    )

    def history() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "core.cli.main", "history"], env=env,
                              cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip

    path = tmp_path / "data" / "mammo.sqlite3"
    with Store.open(path) as store:
        ids = make_readings(store, "dr-damage", 200)
    assert history().returncode == 0  # a day's first start: it keeps a copy
    [backup] = backups_of(path)
    _damage(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    refused = history()

    said = refused.stderr.splitlines()[-1]  # the line before it is the log's technical one
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert said.startswith("mammo: ") and "damaged" in said and str(backup) in said
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest

    # What the message says to do: move the damaged file aside, copy the backup in its place.
    path.rename(tmp_path / "damaged.sqlite3")
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        side.unlink(missing_ok=True)
    shutil.copyfile(backup, path)
    restored = history()

    assert restored.returncode == 0, restored.stderr
    assert len(restored.stdout.splitlines()) == len(ids)
