"""Two workstations of one radiologist, end to end against the real server: readings,
signatures and amendments made on one appear in the other's history once; readings made
offline days ago still arrive; a reading signed differently on both keeps both versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.store import Store
from core.sync import FileTokenStore, SyncService
from tests.e2e.sync_support import (
    PASSWORD,
    InProcessServer,
    make_readings,
    now,
    server_ids,
    sign,
    workstation,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def app_server(sync_database, tmp_path: Path):
    with InProcessServer(tmp_path / "server", sync_database, clock=now) as running:
        yield running


@pytest.fixture
def two_workstations(app_server, radiologist, tmp_path: Path):
    made = [workstation(tmp_path / name, app_server.url, app_server.certs.ca) for name in "ab"]
    for _, service in made:
        assert service.log_in(radiologist, PASSWORD).online
    yield made
    for store, service in made:
        service.close()
        store.close()


def test_what_is_read_on_one_workstation_appears_on_the_other_once(
    two_workstations, radiologist
) -> None:
    (store_a, sync_a), (store_b, sync_b) = two_workstations
    ids = make_readings(store_a, radiologist, 30)
    first = sign(store_a, ids[0], radiologist, birads=4)
    sign(store_a, ids[0], radiologist, birads=3, note="on second look", amends_id=first.id)
    sync_a.sync_once()

    pulled = sync_b.sync_once()
    again = sync_b.sync_once()

    assert (pulled.readings_pulled, pulled.decisions_pulled) == (30, 2)
    assert (again.readings_pulled, again.decisions_pulled) == (0, 0)
    assert sorted(r.id for r in store_b.list_readings()) == sorted(ids)
    assert {r.sync_state for r in store_b.list_readings()} == {"synced"}
    assert store_b.count_pending_outbox() == 0
    history = store_b.feedback_history(ids[0])
    assert [(f.birads, f.note) for f in history] == [(4, "spiculated mass"), (3, "on second look")]
    assert history[1].amends_id == history[0].id

    # Signed on B, it shows on A; nothing comes back twice.
    sign(store_b, ids[5], radiologist, birads=2, note="benign")
    sync_b.sync_once()
    back = sync_a.sync_once()
    assert back.decisions_pulled == 1
    assert [f.birads for f in store_a.feedback_history(ids[5])] == [2]
    assert store_a.count_readings() == 30


def test_readings_made_offline_days_ago_still_reach_the_other_workstation(
    app_server, two_workstations, sync_database, radiologist, tmp_path: Path
) -> None:
    (store_a, sync_a), _ = two_workstations
    sync_a.sync_once()  # A's watermark is now "today"
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    # C was offline for days: its readings carry old times and reach the server only now.
    with Store.open(tmp_path / "c" / "mammo.sqlite3", clock=lambda: three_days_ago) as store_c:
        sync_c = SyncService(
            store=store_c,
            server_url=app_server.url,
            ca_cert=app_server.certs.ca,
            tokens=FileTokenStore(tmp_path / "c" / "tokens.json"),
            offline_login_days=7,
        )
        old = make_readings(store_c, radiologist, 5)
        sync_c.log_in(radiologist, PASSWORD)
        sync_c.sync_once()
        sync_c.close()

    report = sync_a.sync_once()

    assert report.readings_pulled == 5
    assert {r.id for r in store_a.list_readings()} == set(old)
    assert server_ids(sync_database, radiologist) == sorted(old)


def test_a_reading_signed_differently_on_two_workstations_keeps_both_versions(
    two_workstations, sync_database, radiologist
) -> None:
    (store_a, sync_a), (store_b, sync_b) = two_workstations
    [reading_id] = make_readings(store_a, radiologist, 1)
    sync_a.sync_once()
    sync_b.sync_once()
    sign(store_a, reading_id, radiologist, birads=5, note="biopsy")
    sign(store_b, reading_id, radiologist, birads=1, note="normal")
    sync_a.sync_once()

    report = sync_b.sync_once()

    assert report.conflicts == 1
    [conflict] = sync_b.conflicts()
    assert (conflict.local_version["birads"], conflict.local_version["note"]) == (1, "normal")
    assert conflict.server_version is not None
    assert (conflict.server_version["birads"], conflict.server_version["note"]) == (5, "biopsy")
    assert [f.birads for f in store_b.feedback_history(reading_id)] == [1]
    assert store_b.feedback_history(reading_id)[0].sync_state == "conflict"
    assert report.status.conflicts == 1 and not report.status.nothing_left
    assert server_ids(sync_database, radiologist) == [reading_id]
