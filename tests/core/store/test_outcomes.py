"""Outcomes per breast in the local store: recorded, the newest counts, queued for the server
until it holds them."""

from __future__ import annotations

import pytest

from core.errors import StoreError
from core.store import Store
from core.store.outcomes import NewOutcome

PIXELS = ("a" * 64, "b" * 64)


def outcome(user_id, **overrides) -> NewOutcome:
    values = {"exam_id": "1.2.840.1", "side": "L", "outcome": "benign", "pixel_sha256s": PIXELS,
              "user_id": user_id}
    values.update(overrides)
    return NewOutcome(**values)


def test_the_newest_outcome_of_each_breast_counts(store: Store):
    user = store.ensure_user("alice")
    store.outcomes.record([outcome(user), outcome(user, side="R", outcome="no_cancer")])
    [corrected] = store.outcomes.record([outcome(user, outcome="malignant", note="path 123")])

    latest = store.outcomes.latest("1.2.840.1")

    assert {side: o.outcome for side, o in latest.items()} == {"L": "malignant",
                                                               "R": "no_cancer"}
    assert latest["L"].id == corrected.id and latest["L"].note == "path 123"
    assert latest["L"].pixel_sha256s == PIXELS and latest["L"].username == "alice"


def test_outcomes_wait_for_the_server_per_user(store: Store):
    alice, bob = store.ensure_user("alice"), store.ensure_user("bob")
    mine = store.outcomes.record([outcome(alice), outcome(alice, side="R")])
    store.outcomes.record([outcome(bob)])

    store.outcomes.mark_synced([mine[0].id])

    assert [o.id for o in store.outcomes.unsynced(alice)] == [mine[1].id]
    assert len(store.outcomes.unsynced(bob)) == 1


@pytest.mark.parametrize("bad", [{"outcome": "maybe"}, {"side": "X"}, {"pixel_sha256s": ()}])
def test_an_unknown_outcome_or_side_or_no_images_is_refused(store: Store, bad):
    user = store.ensure_user("alice")
    with pytest.raises(StoreError):
        store.outcomes.record([outcome(user, **bad)])
    assert store.outcomes.latest("1.2.840.1") == {}
