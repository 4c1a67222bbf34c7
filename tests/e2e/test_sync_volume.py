"""10,000 readings made offline sync completely through the shipped deployment (nginx, TLS,
two app processes, PostgreSQL): the counts match on both sides and no id is duplicated."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import SyncError, SyncErrorKind
from tests.e2e.sync_support import PASSWORD, Certificates, make_readings, sql, workstation
from tests.server import pg, stack

pytestmark = pytest.mark.slow

COUNT = 10_000


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    try:
        with stack.running_stack(tmp_path_factory.mktemp("stack")) as running:
            running.cli("create-user", "--username", "dr-volume", stdin=PASSWORD + "\n")
            yield running
    except (stack.StackError, pg.PostgresUnavailable) as exc:
        pytest.fail(str(exc), pytrace=False)


def test_ten_thousand_offline_readings_sync_completely_once(deployment, tmp_path: Path) -> None:
    store, service = workstation(tmp_path / "ws", deployment.base_url, deployment.ca)
    assert service.log_in("dr-volume", PASSWORD).online
    ids = make_readings(store, "dr-volume", COUNT)

    report = service.sync_once()

    total, distinct = (
        sql(deployment.database_url, f"SELECT count({what}) FROM readings")[0]
        for what in ("*", "DISTINCT id")
    )
    on_server = set(map(str, sql(deployment.database_url, "SELECT id FROM readings")))
    assert report.sent == COUNT and report.status.nothing_left
    assert total == distinct == COUNT
    assert on_server == set(ids)
    assert store.count_readings() == COUNT and store.count_pending_outbox() == 0
    assert {r.sync_state for r in store.list_readings()} == {"synced"}
    service.close()
    store.close()


def test_nginx_with_a_certificate_of_another_ca_is_refused(deployment, tmp_path: Path) -> None:
    other = Certificates.make(tmp_path / "other").ca
    store, service = workstation(tmp_path / "ws", deployment.base_url, other)

    with pytest.raises(SyncError, match="is not trusted") as refused:
        service.log_in("dr-volume", PASSWORD, allow_offline=False)

    assert refused.value.kind is SyncErrorKind.NETWORK
    service.close()
    store.close()
