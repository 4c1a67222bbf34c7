"""A workstation whose clock is 10 minutes off, end to end: the real ``mammo`` commands run
under libfaketime (every clock the process reads is off, OpenSSL's included) against a real
server process over HTTPS. Logins, token refreshes and sync work, every reading reaches the
server and the other workstations once; where the clock does break something (a certificate
issued minutes ago is "not yet valid" to a clock running behind), the message says to check
this computer's date and time, and nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.sync.tokens import Tokens
from tests.e2e.sync_support import (
    PASSWORD,
    REPO,
    ServerProcess,
    server_ids,
    sql,
    workstation,
)
from tests.e2e.test_sync_outage import cli_env, mammo

pytestmark = pytest.mark.slow

LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)


@pytest.fixture(autouse=True)
def _libfaketime() -> None:
    if LIBFAKETIME is None:
        pytest.fail("libfaketime is missing: apt-get install faketime", pytrace=False)


def off_by(env: dict[str, str], offset: str) -> dict[str, str]:
    """``env`` for a process whose wall clock is ``offset`` ("+10m", "-10m") off."""
    return {
        **env,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": offset,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # timeouts and backoff keep real durations
    }


def write_readings(env: dict[str, str], username: str, count: int) -> list[str]:
    """``count`` readings made by a workstation process with this environment's clock."""
    store = Path(env["MAMMO_DATA_DIR"]) / "mammo.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.store_writer", str(store), username, str(count)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.split()


def created_at(database_url: str, reading_id: str) -> datetime:
    [stamp] = sql(database_url, "SELECT created_at FROM readings WHERE id = :id", id=reading_id)
    return stamp


@pytest.mark.parametrize("offset", ["+10m", "-10m"])
def test_a_workstation_clock_10_minutes_off_logs_in_and_syncs_every_reading_once(
    server, sync_database, radiologist, tmp_path: Path, offset: str
) -> None:
    env = off_by(cli_env(tmp_path / "client", server), offset)
    login = mammo(["login", "--user", radiologist], env, stdin=PASSWORD + "\n")
    ids = write_readings(env, radiologist, 60)

    synced = mammo(["sync", "--once"], env)

    assert login.returncode == 0, login.stderr
    assert synced.returncode == 0, synced.stderr
    assert "0 left to send" in synced.stdout
    assert server_ids(sync_database, radiologist) == sorted(ids)
    skew = created_at(sync_database, ids[0]) - datetime.now(UTC)
    expected = timedelta(minutes=10) if offset.startswith("+") else -timedelta(minutes=10)
    assert abs(skew - expected) < timedelta(minutes=2), "the process's clock was not off"

    store, other = workstation(tmp_path / "on-time", server.url, server.certs.ca)
    other.log_in(radiologist, PASSWORD)
    pulled = other.sync_once()
    assert pulled.readings_pulled == len(ids) and store.count_readings() == len(ids)
    other.close()
    store.close()


def test_a_clock_that_jumps_20_minutes_between_login_and_sync_refreshes_and_syncs(
    server, sync_database, radiologist, tmp_path: Path
) -> None:
    env = cli_env(tmp_path / "client", server)
    assert mammo(["login", "--user", radiologist], off_by(env, "-10m"),
                 stdin=PASSWORD + "\n").returncode == 0  # fmt: skip
    tokens = Path(env["MAMMO_DATA_DIR"]) / "tokens.json"
    before = tokens.read_text()
    ids = write_readings(env, radiologist, 40)

    ahead = mammo(["sync", "--once"], off_by(env, "+10m"))  # the access token looks expired
    more = write_readings(env, radiologist, 20)
    behind = mammo(["sync", "--once"], off_by(env, "-10m"))  # and now looks fresh for long

    assert ahead.returncode == 0, ahead.stderr
    assert behind.returncode == 0, behind.stderr
    assert tokens.read_text() != before  # refreshed when it seemed expired
    assert server_ids(sync_database, radiologist) == sorted(ids + more)


def test_a_clock_behind_a_new_certificate_is_told_to_check_the_date_and_loses_nothing(
    sync_database, radiologist, tmp_path: Path
) -> None:
    server = ServerProcess(
        tmp_path / "server", sync_database, certificate_issued_ago=timedelta(minutes=5)
    )
    server.start()
    try:
        env = cli_env(tmp_path / "client", server)
        assert mammo(["login", "--user", radiologist], env, stdin=PASSWORD + "\n").returncode == 0
        ids = write_readings(env, radiologist, 30)

        refused = mammo(["sync", "--once"], off_by(env, "-10m"))
        message = refused.stderr.strip().splitlines()[-1]

        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "certificate is not valid yet by this computer's clock" in message
        assert "If that date or time is wrong, correct it" in message
        assert server_ids(sync_database, radiologist) == []
        saved = Tokens.from_json(next(iter(_token_file(env).values())))
        assert saved.refresh_token  # the login survives: only the clock needs fixing

        fixed = mammo(["sync", "--once"], env)

        assert fixed.returncode == 0, fixed.stderr
        assert server_ids(sync_database, radiologist) == sorted(ids)
    finally:
        server.stop()


def _token_file(env: dict[str, str]) -> dict[str, str]:
    return json.loads((Path(env["MAMMO_DATA_DIR"]) / "tokens.json").read_text())
