"""The store's side of sync: bulk writes, the outbox per user, conflicts kept with both
versions, accounts with an offline verifier, and the upgrade of a store made before sync."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import Store
from core.store.database import create_store_engine
from core.store.migration import MIGRATIONS_DIR, migrate
from tests.core.store.factories import T0, add_reading, make_image_meta, make_new_reading


def test_add_readings_writes_and_queues_all_or_nothing(store: Store) -> None:
    user_id = store.ensure_user("alice")
    image_id = store.add_image(make_image_meta(1))
    good = make_new_reading(image_id=image_id, user_id=user_id)

    made = store.add_readings([good, good])
    with pytest.raises(StoreError):
        store.add_readings([good, make_new_reading(image_id=image_id, user_id=user_id,
                                                   id=made[0].id)])  # fmt: skip

    assert store.count_readings() == 2
    assert [e.entity_id for e in store.pending_outbox(limit=10)] == [r.id for r in made]


def test_the_outbox_is_read_per_user(store: Store) -> None:
    alice = add_reading(store, n=1, username="alice")
    bob = add_reading(store, n=2, username="bob")
    alice_id, bob_id = store.ensure_user("alice"), store.ensure_user("bob")
    decision = store.add_feedback(
        reading_id=alice.id, user_id=bob_id, agrees_with_model=True, birads=1
    )

    assert [e.entity_id for e in store.sync.pending_for_user(alice_id, 10)] == [alice.id]
    assert [e.entity_id for e in store.sync.pending_for_user(bob_id, 10)] == [bob.id, decision.id]
    assert (store.sync.count_pending(alice_id), store.sync.count_pending()) == (1, 3)


def test_a_conflict_closes_the_entry_and_keeps_both_versions(store: Store) -> None:
    reading = add_reading(store)
    [entry] = store.pending_outbox(limit=10)

    store.sync.mark_conflict(
        entry, reading_id=reading.id, local_version={"birads": 4},
        server_version={"birads": 1}, message="already signed",
    )  # fmt: skip
    store.sync.mark_conflict(
        entry, reading_id=reading.id, local_version={}, server_version=None, message="again"
    )

    [conflict] = store.sync.conflicts()
    assert (conflict.local_version, conflict.server_version) == ({"birads": 4}, {"birads": 1})
    assert store.count_pending_outbox() == 0
    assert store.get_reading(reading.id).sync_state == "conflict"
    store.sync.resolve_conflict(conflict.id)
    assert store.sync.conflicts() == []
    assert len(store.sync.conflicts(include_resolved=True)) == 1


def test_offline_verifier_accepts_the_password_only_while_fresh(store_path: Path) -> None:
    now = [T0]
    with Store.open(store_path, clock=lambda: now[0]) as store:
        store.sync.save_account(
            server_url="https://s", username="Alice", server_user_id="9", role="admin",
            profile={"username": "Alice"}, password="pw",
        )  # fmt: skip
        now[0] = T0 + timedelta(days=3)
        fresh = T0 + timedelta(days=1)

        assert store.sync.verify_offline("https://s", "alice", "pw", online_since=T0) is not None
        assert store.sync.verify_offline("https://s", "alice", "nope", online_since=T0) is None
        assert store.sync.verify_offline("https://s", "alice", "pw", online_since=fresh) is None
        assert store.sync.verify_offline("https://t", "alice", "pw", online_since=T0) is None
        account = store.sync.current_account("https://s")
        assert account is not None and account.last_login_at == now[0]
        user = store.get_user(account.user_id)
        assert user is not None and (user.server_user_id, user.role) == ("9", "admin")


def test_a_store_from_before_sync_is_backed_up_and_upgraded(store_path: Path, tmp_path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    for later in scripts.glob("versions/000[2-9]_*.py"):  # the store as 0001 left it
        later.unlink()
    store_path.parent.mkdir(parents=True)
    engine = create_store_engine(store_path)
    try:
        migrate(store_path, engine, script_location=scripts)
    finally:
        engine.dispose()
    with closing(sqlite3.connect(store_path)) as connection, connection:
        connection.execute(
            "INSERT INTO users (username, display_name, role, created_at) "
            "VALUES ('alice', 'Alice', 'radiologist', '2024-05-01T09:00:00.000000+00:00')"
        )

    with Store.open(store_path) as store:
        reading = add_reading(store, username="alice")
        assert store.get_reading(reading.id).user_id == 1  # the old row, kept
        assert store.sync.conflicts() == [] and store.sync.current_account() is None
    assert list(store_path.parent.glob("mammo.sqlite3.bak-0001-*"))
