"""Outages, end to end: the real server process (HTTPS, real PostgreSQL) goes away or is
killed at the worst moment, the client too; afterwards every reading is there exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from core.errors import SyncError, SyncErrorKind
from core.store import Store
from core.sync import ServerEndpoint
from tests.e2e.sync_support import (
    PASSWORD,
    REPO,
    make_readings,
    server_ids,
    sql,
    wait_for,
    workstation,
)

pytestmark = pytest.mark.slow


def test_readings_queue_while_the_server_is_down_and_arrive_once_when_it_is_back(
    server, sync_database, radiologist, tmp_path: Path
) -> None:
    store, service = workstation(tmp_path / "ws", server.url, server.certs.ca)
    assert service.log_in(radiologist, PASSWORD).online
    server.stop()

    ids = make_readings(store, radiologist, 300)
    with pytest.raises(SyncError) as down:
        service.sync_once()
    offline = service.log_in(radiologist, PASSWORD)  # the radiologist keeps working
    status = service.status()

    assert down.value.kind is SyncErrorKind.NETWORK
    assert offline is not None and not offline.online
    assert (status.online, status.pending) == (False, 300)
    assert server_ids(sync_database, radiologist) == []

    server.start()
    report = service.sync_once()
    again = service.sync_once()

    assert report.sent == 300 and report.status.nothing_left
    assert server_ids(sync_database, radiologist) == sorted(ids)
    assert (again.sent, again.readings_pulled) == (0, 0)
    assert store.count_readings() == 300  # pulled back without duplicates
    service.close()
    store.close()


def test_server_killed_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
    server, sync_database, radiologist, tmp_path: Path
) -> None:
    store, service = workstation(tmp_path / "ws", server.url, server.certs.ca, batch_size=200)
    service.log_in(radiologist, PASSWORD)
    ids = make_readings(store, radiologist, 600)
    # The second batch stalls inside its INSERT, its transaction open, until the kill.
    sql(sync_database, STALL_FUNCTION.replace("MARKER", ids[300]))
    sql(sync_database, "CREATE TRIGGER stall BEFORE INSERT ON readings FOR EACH ROW "
                       "EXECUTE FUNCTION stall_on_marker()")  # fmt: skip
    failure: list[BaseException] = []
    sync = threading.Thread(target=_capture(service.sync_once, failure))
    try:
        sync.start()
        wait_for(lambda: _stalled(sync_database) > 0, what="the second batch to stall")
        assert server_ids(sync_database, radiologist) == sorted(ids[:200])

        server.kill()
        sync.join(timeout=60)
        wait_for(lambda: _stalled(sync_database) == 0, what="PostgreSQL to roll back")
    finally:
        sql(sync_database, "DROP TRIGGER IF EXISTS stall ON readings")

    assert not sync.is_alive()
    assert isinstance(failure[0], SyncError) and failure[0].kind is SyncErrorKind.NETWORK
    assert server_ids(sync_database, radiologist) == sorted(ids[:200])
    assert store.count_pending_outbox() == 400  # only what the server confirmed is closed

    server.start()
    report = service.sync_once()

    assert report.sent == 400
    assert server_ids(sync_database, radiologist) == sorted(ids)
    assert store.count_pending_outbox() == 0 and store.count_readings() == 600
    service.close()
    store.close()


def test_an_answer_lost_after_the_commit_is_harmless(
    server, sync_database, radiologist, tmp_path: Path
) -> None:
    endpoint = ServerEndpoint.parse(server.url, ca_cert=server.certs.ca)
    transport = _DiesAfterFirstBatch(server, verify=endpoint.ssl_context())
    store, service = workstation(
        tmp_path / "ws", server.url, server.certs.ca, batch_size=100, transport=transport
    )
    service.log_in(radiologist, PASSWORD)
    ids = make_readings(store, radiologist, 250)

    with pytest.raises(SyncError) as lost:
        service.sync_once()

    # The server stored the first batch and died before the client heard about it.
    assert lost.value.kind is SyncErrorKind.NETWORK
    assert server_ids(sync_database, radiologist) == sorted(ids[:100])
    assert store.count_pending_outbox() == 250

    server.start()
    report = service.sync_once()

    assert report.sent == 250  # the first 100 confirmed as "unchanged"
    assert server_ids(sync_database, radiologist) == sorted(ids)
    assert store.count_pending_outbox() == 0 and store.count_readings() == 250
    service.close()
    store.close()


def test_the_client_killed_in_the_middle_of_a_sync_finishes_on_the_next_start(
    server, sync_database, radiologist, tmp_path: Path
) -> None:
    env = cli_env(tmp_path / "client", server)
    login = mammo(["login", "--user", radiologist], env, stdin=PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    tokens = tmp_path / "client" / "data" / "tokens.json"
    assert tokens.stat().st_mode & 0o777 == 0o600
    with Store.open(tmp_path / "client" / "data" / "mammo.sqlite3") as store:
        ids = make_readings(store, radiologist, 3000)

    running = subprocess.Popen(
        [sys.executable, "-m", "core.cli.main", "sync", "--once", "--batch-size", "25"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(lambda: len(server_ids(sync_database, radiologist)) >= 25, what="a batch")
        running.send_signal(signal.SIGKILL)
    finally:
        running.wait(timeout=30)
    arrived = len(server_ids(sync_database, radiologist))
    assert 25 <= arrived < 3000, "the client finished before it could be killed"

    finished = mammo(["sync", "--once"], env)

    assert finished.returncode == 0, finished.stderr
    assert "0 left to send" in finished.stdout
    assert server_ids(sync_database, radiologist) == sorted(ids)
    with Store.open(tmp_path / "client" / "data" / "mammo.sqlite3") as store:
        assert store.count_readings() == 3000
        assert store.count_pending_outbox() == 0

    server.stop()
    with Store.open(tmp_path / "client" / "data" / "mammo.sqlite3") as store:
        make_readings(store, radiologist, 1)
    offline = mammo(["sync", "--once"], env)
    assert offline.returncode == 1
    assert offline.stderr.strip().count("\n") == 0
    assert "cannot be reached" in offline.stderr


STALL_FUNCTION = """
CREATE OR REPLACE FUNCTION stall_on_marker() RETURNS trigger AS $$
BEGIN
    IF NEW.id = 'MARKER'::uuid THEN PERFORM pg_sleep(60); END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql
"""


def _stalled(database_url: str) -> int:
    [count] = sql(
        database_url,
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
        " AND datname = current_database()",
    )
    return int(count)


def _capture(call, failures: list[BaseException]):
    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            failures.append(exc)

    return run


class _DiesAfterFirstBatch(httpx.HTTPTransport):
    """Lets the first batch reach the server and commit, then kills the server and loses
    the answer, as when the server dies between its COMMIT and its response."""

    def __init__(self, server, **kwargs) -> None:
        super().__init__(**kwargs)
        self._server = server
        self._done = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/readings/batch" and not self._done:
            self._done = True
            response.read()
            self._server.kill()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def cli_env(folder: Path, server) -> dict[str, str]:
    """The environment of a workstation's ``mammo`` command: its own data and settings, the
    test server and CA, and no keyring (so the private token file is used)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMMO_")}
    env.update(
        MAMMO_DATA_DIR=str(folder / "data"),
        MAMMO_CONFIG_FILE=str(folder / "settings.toml"),
        MAMMO_SITE_CONFIG=str(folder / "settings.toml"),
        MAMMO_SERVER_URL=server.url,
        MAMMO_CA_CERT=str(server.certs.ca),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONPATH=str(REPO),
    )
    return env


def mammo(args: list[str], env: dict[str, str], *, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "core.cli.main", *args],
        env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_mammo_sync_keeps_retrying_until_the_server_is_back(
    server, sync_database, radiologist, tmp_path: Path
) -> None:
    env = cli_env(tmp_path / "client", server)
    assert mammo(["login", "--user", radiologist], env, stdin=PASSWORD + "\n").returncode == 0
    with Store.open(tmp_path / "client" / "data" / "mammo.sqlite3") as store:
        ids = make_readings(store, radiologist, 40)
    server.stop()

    running = subprocess.Popen(
        [sys.executable, "-m", "core.cli.main", "sync"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: _retries(tmp_path / "client") >= 1, what="a failed attempt")
        server.start()
        out, err = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()

    assert running.returncode == 0, err
    assert "cannot be reached" in err and "Retrying in" in err
    assert "0 left to send" in out
    assert server_ids(sync_database, radiologist) == sorted(ids)


def _retries(client: Path) -> int:
    with Store.open(client / "data" / "mammo.sqlite3") as store:
        return store.sync.status().failures
