from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import Store
from tests.core.store.factories import T0, add_reading


def test_each_reading_and_feedback_is_queued_once(store: Store) -> None:
    user_id = store.ensure_user("alice")
    readings = [add_reading(store, n=n) for n in range(3)]
    feedback = store.add_feedback(
        reading_id=readings[0].id, user_id=user_id, agrees_with_model=True, birads=2, note="ok"
    )

    entries = store.pending_outbox(limit=10)

    assert store.count_pending_outbox() == 4
    assert [(e.entity, e.entity_id) for e in entries] == [
        *[("reading", r.id) for r in readings],
        ("feedback", feedback.id),
    ]
    reading_payload = entries[0].payload
    assert reading_payload["id"] == readings[0].id
    assert reading_payload["model_sha256"] == readings[0].model_sha256
    assert reading_payload["image"]["pixel_sha256"] == readings[0].pixel_sha256
    # The file path may name the patient: it never leaves the workstation.
    assert "/data/" not in str(reading_payload)
    assert entries[3].payload["birads"] == 2
    assert store.pending_outbox(limit=2) == entries[:2]


def test_reading_is_not_saved_when_it_cannot_be_queued(store: Store, store_path: Path) -> None:
    add_reading(store, n=1)
    with closing(sqlite3.connect(store_path)) as connection, connection:
        connection.execute(
            "CREATE TRIGGER outbox_full BEFORE INSERT ON outbox "
            "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
        )

    with pytest.raises(StoreError):
        add_reading(store, n=2)

    assert store.count_readings() == 1
    assert store.count_pending_outbox() == 1


def test_mark_done_closes_entries_and_marks_records_synced(store: Store) -> None:
    user_id = store.ensure_user("alice")
    first = add_reading(store, n=1)
    second = add_reading(store, n=2)
    feedback = store.add_feedback(
        reading_id=first.id, user_id=user_id, agrees_with_model=True, birads=1, note=""
    )
    entries = store.pending_outbox(limit=10)

    store.mark_outbox_done([entries[0].id, entries[2].id])

    assert [e.entity_id for e in store.pending_outbox(limit=10)] == [second.id]
    assert store.count_pending_outbox() == 1
    states = {r.id: r.sync_state for r in store.list_readings()}
    assert states == {first.id: "synced", second.id: "pending"}
    assert store.feedback_history(first.id)[0].sync_state == "synced"
    assert feedback.sync_state == "pending"
    store.mark_outbox_done([])


def test_failed_entries_wait_until_their_next_attempt(store_path: Path) -> None:
    now = [T0]
    with Store.open(store_path, clock=lambda: now[0]) as store:
        add_reading(store, n=1)
        second = add_reading(store, n=2)
        first_entry, second_entry = store.pending_outbox(limit=10)

        store.mark_outbox_failed(
            [first_entry.id], error="server unreachable", next_attempt_at=T0 + timedelta(minutes=5)
        )

        assert [e.entity_id for e in store.pending_outbox(limit=10)] == [second.id]
        assert store.count_pending_outbox() == 2
        now[0] = T0 + timedelta(minutes=5)
        retried = store.pending_outbox(limit=10)[0]
        assert retried.id == first_entry.id
        assert (retried.attempts, retried.last_error) == (1, "server unreachable")
        assert retried.next_attempt_at == T0 + timedelta(minutes=5)
        assert second_entry.attempts == 0
