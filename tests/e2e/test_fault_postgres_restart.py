"""PostgreSQL restarted in the middle of a batch, end to end: a real server process over HTTPS
on a PostgreSQL cluster of this test's own, which is stopped while the server holds a batch's
transaction open and started again. The server answers 503 meanwhile and recovers by itself;
the workstation keeps what was not confirmed and sends it once PostgreSQL is back. Every
reading ends up on the server exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from core.errors import SyncError, SyncErrorKind
from server.db import migrate
from tests.e2e.pg_cluster import Cluster
from tests.e2e.sync_support import (
    PASSWORD,
    ServerProcess,
    create_user,
    make_readings,
    server_ids,
    sql,
    wait_for,
    workstation,
)
from tests.e2e.test_sync_outage import STALL_FUNCTION, _capture, _stalled

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster() as running:
        connection = psycopg2.connect(host="127.0.0.1", port=running.port, user="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE mammo")
        connection.close()
        migrate.upgrade(running.url("mammo"))
        yield running


def test_postgresql_restarted_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    database = cluster.url("mammo")
    create_user(database, "dr-restart")
    server = ServerProcess(tmp_path / "server", database)
    server.start()
    try:
        store, service = workstation(tmp_path / "ws", server.url, server.certs.ca, batch_size=200)
        service.log_in("dr-restart", PASSWORD)
        ids = make_readings(store, "dr-restart", 600)
        # The second batch stalls inside its INSERT, its transaction open, until the restart.
        sql(database, STALL_FUNCTION.replace("MARKER", ids[300]))
        sql(database, "CREATE TRIGGER stall BEFORE INSERT ON readings FOR EACH ROW "
                      "EXECUTE FUNCTION stall_on_marker()")  # fmt: skip
        failure: list[BaseException] = []
        sync = threading.Thread(target=_capture(service.sync_once, failure))
        sync.start()
        wait_for(lambda: _stalled(database) > 0, what="the second batch to stall")

        cluster.restart()
        sync.join(timeout=60)

        assert not sync.is_alive()
        assert isinstance(failure[0], SyncError), failure
        assert failure[0].kind is SyncErrorKind.SERVER  # the server said 503, it did not die
        assert server_ids(database, "dr-restart") == sorted(ids[:200])
        assert store.count_pending_outbox() == 400  # only what the server confirmed is closed

        sql(database, "DROP TRIGGER stall ON readings")
        report = service.sync_once()  # the same server process, never restarted

        assert report.sent == 400 and report.status.nothing_left
        assert server_ids(database, "dr-restart") == sorted(ids)
        assert store.count_pending_outbox() == 0 and store.count_readings() == 600
        service.close()
        store.close()
    finally:
        server.stop()
