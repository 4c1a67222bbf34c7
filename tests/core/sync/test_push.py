"""Pushing the outbox: in batches, marked only once confirmed, with backoff, conflicts kept."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.cli.sync import leftover_reason
from core.contracts import ReadingPublic
from core.errors import SyncError, SyncErrorKind
from core.store import Store
from core.sync import SyncService
from core.sync.mapping import to_reading_create
from core.sync.tokens import token_key
from tests.core.sync.conftest import SERVER_URL
from tests.core.sync.factories import reading, readings, sign
from tests.core.sync.fake_server import PASSWORD, FakeServer


def test_every_change_arrives_once_and_is_marked_only_after_the_server_confirms(
    store: Store, fake: FakeServer, make_service
) -> None:
    service = make_service(batch_size=3)
    service.log_in("dr-a", PASSWORD)
    made = readings(store, 7)
    sign(store, made[0].id)
    pending_when_received: list[int] = []
    fake.before_batch = lambda _: pending_when_received.append(store.count_pending_outbox())

    report = service.sync_once()

    assert report.sent == 8
    assert sorted(fake.readings) == sorted(r.id for r in made)
    assert fake.readings[made[0].id].signed_at is not None
    # Each batch found everything it carried still queued: nothing is closed in advance.
    assert pending_when_received == [8, 5, 2]
    assert store.count_pending_outbox() == 0
    assert {r.sync_state for r in store.list_readings()} == {"synced"}
    assert report.status.nothing_left and leftover_reason(report.status) is None

    batches = len(fake.batches)
    again = service.sync_once()
    assert (again.sent, len(fake.batches)) == (0, batches)


def test_an_unavailable_server_keeps_the_queue_and_backs_off(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    readings(store, 3)
    fake.unavailable = True

    for attempt, wait in ((1, 2.5), (2, 5.0), (3, 10.0)):
        before = datetime.now(UTC)
        with pytest.raises(SyncError, match="unavailable") as failed:
            service.sync_once()
        status = service.status()
        assert failed.value.kind is SyncErrorKind.SERVER
        assert (status.pending, status.online, status.last_error_kind) == (3, False, "server")
        assert status.next_attempt_at is not None
        assert status.next_attempt_at - before >= timedelta(seconds=wait)
        assert status.next_attempt_at - before < timedelta(seconds=wait + 5), attempt

    fake.unavailable = False
    report = service.sync_once()

    assert report.sent == 3 and len(fake.readings) == 3
    assert report.status.online is True
    assert report.status.last_error is None and report.status.next_attempt_at is None


def test_a_conflict_keeps_both_versions_and_is_not_resolved_by_dropping_one(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    made = reading(store)
    service.sync_once()
    # Meanwhile the same reading was signed on another workstation.
    theirs = fake.readings[made.id].model_copy(
        update={"agrees_with_model": False, "birads": 2, "note": "benign",
                "signed_at": datetime.now(UTC)}
    )  # fmt: skip
    fake.readings[made.id] = theirs
    ours = sign(store, made.id, birads=5, note="biopsy")

    report = service.sync_once()

    assert report.conflicts == 1
    [conflict] = service.conflicts()
    assert conflict.entity_id == ours.id and conflict.reading_id == made.id
    assert conflict.local_version["birads"] == 5
    assert conflict.server_version is not None and conflict.server_version["birads"] == 2
    assert store.feedback_history(made.id)[0].sync_state == "conflict"
    assert fake.readings[made.id] == theirs  # the server's version was not overwritten
    status = report.status
    assert (status.pending, status.conflicts) == (0, 1)
    assert "conflict with the server's version" in (leftover_reason(status) or "")

    service.resolve_conflict(conflict.id)
    assert service.status().conflicts == 0
    assert [f.birads for f in store.feedback_history(made.id)] == [5]


def test_a_refused_change_is_held_back_with_backoff_while_the_rest_goes(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    made = readings(store, 4)
    fake.reject_ids = {made[1].id}

    report = service.sync_once()

    assert (report.sent, report.rejected) == (3, 1)
    assert sorted(fake.readings) == sorted(r.id for r in made if r.id != made[1].id)
    status = report.status
    assert status.pending == 1 and status.held_back_error == "not acceptable"
    assert status.next_attempt_at is not None and status.next_attempt_at > datetime.now(UTC)
    batches = len(fake.batches)
    service.sync_once()  # too early: the refused reading waits for its backoff
    assert len(fake.batches) == batches


def test_a_batch_too_large_for_the_server_is_split_in_order(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    made = readings(store, 5)
    fake.max_batch = 2

    report = service.sync_once()

    assert report.sent == 5
    assert [i for batch in fake.batches for i in batch] == [r.id for r in made]
    assert max(len(batch) for batch in fake.batches) <= 2


def test_an_expired_access_token_is_refreshed_transparently(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    readings(store, 2)
    key = token_key(SERVER_URL, "dr-a")
    before = service.tokens.load(key)
    fake.expire_access_tokens()

    report = service.sync_once()

    after = service.tokens.load(key)
    assert report.sent == 2
    assert before is not None and after is not None
    assert after.refresh_token != before.refresh_token  # rotated and saved
    assert before.refresh_token not in fake.refresh_tokens


def test_a_revoked_login_asks_to_log_in_again_and_keeps_the_queue(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    readings(store, 3)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()

    with pytest.raises(SyncError, match="Log in again") as failed:
        service.sync_once()

    assert failed.value.kind is SyncErrorKind.AUTH
    status = service.status()
    assert (status.pending, status.last_error_kind, status.online) == (3, "auth", True)
    assert status.next_attempt_at is None  # retrying cannot help; a login can
    assert service.tokens.load(token_key(SERVER_URL, "dr-a")) is None
    assert fake.readings == {}

    assert service.log_in("dr-a", PASSWORD) is not None
    assert service.sync_once().sent == 3


def test_other_users_changes_wait_for_their_login(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    mine = reading(store, "dr-a", n=1)
    reading(store, "dr-b", n=2)

    report = service.sync_once()

    assert list(fake.readings) == [mine.id]
    assert (report.status.pending, report.status.pending_other_users) == (0, 1)
    assert "wait for their login" in (leftover_reason(report.status) or "")


def test_cancelling_stops_between_batches(store: Store, fake: FakeServer, make_service) -> None:
    service = make_service(batch_size=2)
    service.log_in("dr-a", PASSWORD)
    readings(store, 6)
    cancel = threading.Event()
    fake.before_batch = lambda _: cancel.set()

    report = service.sync_once(cancel)

    assert report.cancelled and report.sent == 2
    assert store.count_pending_outbox() == 4


def test_a_second_pass_while_one_runs_returns_at_once(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    readings(store, 1)
    nested = []
    fake.before_batch = lambda _: nested.append(service.sync_once())

    service.sync_once()

    assert nested[0].already_running and nested[0].sent == 0


def test_without_a_login_sync_asks_for_one(store: Store, make_service) -> None:
    readings(store, 1)
    with pytest.raises(SyncError, match="Log in to the server") as failed:
        make_service().sync_once()
    assert failed.value.kind is SyncErrorKind.AUTH


def test_an_unsigned_reading_sent_again_after_being_signed_elsewhere_is_no_conflict(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    made = reading(store)
    entries = store.pending_outbox(limit=10)
    sent = to_reading_create(entries[0], store.sync.context(entries))
    # It reached the server before a crash, and another workstation signed it since.
    signature = {"agrees_with_model": False, "birads": 2, "note": "benign",
                 "signed_at": datetime.now(UTC)}  # fmt: skip
    fake.readings[made.id] = ReadingPublic(
        **{**sent.model_dump(), **signature}, reader="dr-a", received_at=datetime.now(UTC)
    )

    report = service.sync_once()

    assert (report.sent, report.conflicts, report.decisions_pulled) == (1, 0, 1)
    assert [f.birads for f in store.feedback_history(made.id)] == [2]
    assert report.status.nothing_left
