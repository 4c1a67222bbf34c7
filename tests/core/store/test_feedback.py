from __future__ import annotations

import pytest

from core.errors import StoreError
from core.store import Store
from tests.core.store.factories import add_reading


def test_feedback_is_signed_and_shown_on_the_reading(store: Store) -> None:
    reading = add_reading(store)
    user_id = store.ensure_user("alice")

    feedback = store.add_feedback(
        reading_id=reading.id, user_id=user_id, agrees_with_model=True, birads=4, note="spiculated"
    )

    assert (feedback.reading_id, feedback.username, feedback.birads) == (reading.id, "alice", 4)
    assert feedback.amends_id is None
    assert feedback.signed_at > reading.created_at
    (listed,) = store.list_readings()
    assert listed.feedback is not None
    assert (listed.feedback.id, listed.feedback.agrees_with_model) == (feedback.id, True)
    assert (listed.feedback.birads, listed.feedback.note) == (4, "spiculated")
    assert listed.feedback.signed_at == feedback.signed_at


def test_amendment_keeps_the_original_and_becomes_the_latest(store: Store) -> None:
    reading = add_reading(store)
    user_id = store.ensure_user("alice")
    original = store.add_feedback(
        reading_id=reading.id, user_id=user_id, agrees_with_model=True, birads=4, note="first"
    )

    amended = store.add_feedback(
        reading_id=reading.id,
        user_id=user_id,
        agrees_with_model=False,
        birads=2,
        note="benign on review",
        amends_id=original.id,
    )

    assert store.feedback_history(reading.id) == [original, amended]
    assert amended.amends_id == original.id
    latest = store.get_reading(reading.id)
    assert latest is not None and latest.feedback is not None
    assert (latest.feedback.id, latest.feedback.birads) == (amended.id, 2)


def test_a_decision_is_amended_only_once(store: Store) -> None:
    reading = add_reading(store)
    user_id = store.ensure_user("alice")
    original = store.add_feedback(
        reading_id=reading.id, user_id=user_id, agrees_with_model=True, birads=3, note=""
    )
    store.add_feedback(
        reading_id=reading.id,
        user_id=user_id,
        agrees_with_model=True,
        birads=4,
        note="",
        amends_id=original.id,
    )

    with pytest.raises(StoreError, match="already amended"):
        store.add_feedback(
            reading_id=reading.id,
            user_id=user_id,
            agrees_with_model=True,
            birads=5,
            note="",
            amends_id=original.id,
        )
    assert len(store.feedback_history(reading.id)) == 2


def test_amendment_must_belong_to_the_same_reading(store: Store) -> None:
    first = add_reading(store, n=1)
    second = add_reading(store, n=2)
    user_id = store.ensure_user("alice")
    on_first = store.add_feedback(
        reading_id=first.id, user_id=user_id, agrees_with_model=True, birads=1, note=""
    )

    with pytest.raises(StoreError, match="another reading"):
        store.add_feedback(
            reading_id=second.id,
            user_id=user_id,
            agrees_with_model=True,
            birads=1,
            note="",
            amends_id=on_first.id,
        )
    assert store.feedback_history(second.id) == []


@pytest.mark.parametrize("birads", [-1, 7, True, 3.0])
def test_birads_outside_0_to_6_is_refused(store: Store, birads: object) -> None:
    reading = add_reading(store)
    user_id = store.ensure_user("alice")
    queued = store.count_pending_outbox()

    with pytest.raises(StoreError, match="BI-RADS"):
        store.add_feedback(
            reading_id=reading.id,
            user_id=user_id,
            agrees_with_model=True,
            birads=birads,  # type: ignore[arg-type]
            note="",
        )

    assert store.feedback_history(reading.id) == []
    assert store.count_pending_outbox() == queued


@pytest.mark.parametrize("birads", [0, 6, None])
def test_birads_bounds_and_none_are_accepted(store: Store, birads: int | None) -> None:
    reading = add_reading(store)
    user_id = store.ensure_user("alice")
    feedback = store.add_feedback(
        reading_id=reading.id, user_id=user_id, agrees_with_model=False, birads=birads, note=""
    )
    assert store.feedback_history(reading.id) == [feedback]


def test_feedback_on_unknown_reading_is_refused(store: Store) -> None:
    user_id = store.ensure_user("alice")
    with pytest.raises(StoreError, match="not in the local store"):
        store.add_feedback(
            reading_id="missing",  # type: ignore[arg-type]
            user_id=user_id,
            agrees_with_model=True,
            birads=None,
            note="",
        )
    assert store.count_pending_outbox() == 0
