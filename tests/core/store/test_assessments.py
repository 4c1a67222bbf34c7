"""Per-breast assessments: signed, amended with a reason, both kept; an unchanged one is not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.errors import StoreError
from core.store import FindingMark, ModelOpinion, NewAssessment, Store, UserId

EXAM = "1.2.826.0.1.3680043.8.498.77"


def make_assessment(user_id: UserId, **overrides: object) -> NewAssessment:
    values: dict[str, object] = {"exam_id": EXAM, "side": "L", "user_id": user_id,
                                 "birads": "4B", "density": "c", "note": "spiculated mass",
                                 "marks": (FindingMark("/exam/L_CC.dcm", 1520.5, 2210.0),)}
    values.update(overrides)
    return NewAssessment(**values)  # type: ignore[arg-type]


def test_an_assessment_is_signed_with_its_marks_and_reader(store: Store) -> None:
    alice = store.ensure_user("alice")

    (signed,) = store.assessments.sign([make_assessment(alice)])

    assert (signed.exam_id, signed.side, signed.birads, signed.density) == (EXAM, "L", "4B", "c")
    assert signed.marks == (FindingMark("/exam/L_CC.dcm", 1520.5, 2210.0),)
    assert (signed.username, signed.mode, signed.model, signed.amends_id) == (
        "alice", "without_model", None, None)
    assert store.assessments.latest(EXAM, user_id=alice) == {"L": signed}


def test_both_breasts_are_signed_together_without_any_reading(store: Store) -> None:
    alice = store.ensure_user("alice")

    left, right = store.assessments.sign([
        make_assessment(alice), make_assessment(alice, side="R", birads="1", marks=())])

    assert store.count_readings() == 0  # the decision never depends on a score
    assert store.assessments.latest(EXAM, user_id=alice) == {"L": left, "R": right}


def test_an_amendment_keeps_the_first_read_and_gives_its_reason(store: Store) -> None:
    alice = store.ensure_user("alice")
    (blinded,) = store.assessments.sign([make_assessment(alice, mode="blinded")])
    shown = ModelOpinion(model_id="densenet-1", score=0.81, label="Positive", threshold=0.5)

    (amended,) = store.assessments.sign([make_assessment(
        alice, birads="5", mode="with_model", model=shown, agrees_with_model=True,
        amends_id=blinded.id, amend_reason="model points at a second focus")])

    assert store.assessments.history(EXAM, user_id=alice) == [blinded, amended]
    assert (amended.amends_id, amended.amend_reason) == (blinded.id,
                                                         "model points at a second focus")
    assert (amended.mode, amended.model, amended.agrees_with_model) == ("with_model", shown, True)
    assert blinded.mode == "blinded" and blinded.model is None


def test_saving_an_unchanged_assessment_signs_nothing(store: Store) -> None:
    alice = store.ensure_user("alice")
    (first,) = store.assessments.sign([make_assessment(alice)])

    again = store.assessments.sign([make_assessment(alice, amends_id=first.id,
                                                    amend_reason="", note=" spiculated mass ")])

    assert again == []
    assert store.assessments.history(EXAM, user_id=alice) == [first]


@pytest.mark.parametrize("change", [
    {"amends_id": None},  # a breast already assessed is amended, not signed twice
    {"amend_reason": "  "},  # an amendment says why
])
def test_an_amendment_needs_the_latest_and_a_reason(store: Store, change: dict) -> None:
    alice = store.ensure_user("alice")
    (first,) = store.assessments.sign([make_assessment(alice)])
    amendment = make_assessment(alice, birads="2", amends_id=first.id, amend_reason="benign")

    with pytest.raises(StoreError):
        store.assessments.sign([replace(amendment, **change)])

    assert store.assessments.history(EXAM, user_id=alice) == [first]


def test_a_superseded_assessment_cannot_be_amended(store: Store) -> None:
    alice = store.ensure_user("alice")
    (first,) = store.assessments.sign([make_assessment(alice)])
    store.assessments.sign([make_assessment(alice, birads="3", amends_id=first.id,
                                            amend_reason="review")])

    with pytest.raises(StoreError, match="amended meanwhile"):
        store.assessments.sign([make_assessment(alice, birads="2", amends_id=first.id,
                                                amend_reason="again")])


@pytest.mark.parametrize("change", [
    {"birads": "4"}, {"birads": "7"}, {"density": "e"}, {"side": "unknown"},
    {"marks": (FindingMark("/exam/L_CC.dcm", -1.0, 3.0),)},
    {"marks": (FindingMark("/exam/L_CC.dcm", float("nan"), 3.0),)},
    {"agrees_with_model": True},  # nothing was shown to agree with
    {"mode": "with_model"},  # shown, but what was shown is missing
])
def test_invalid_assessments_are_refused_and_none_of_the_batch_is_saved(
        store: Store, change: dict) -> None:
    alice = store.ensure_user("alice")

    with pytest.raises(StoreError):
        store.assessments.sign([make_assessment(alice, side="R"),
                                replace(make_assessment(alice), **change)])

    assert store.assessments.history(EXAM, user_id=alice) == []


def test_each_reader_has_their_own_assessment_of_a_breast(store: Store) -> None:
    alice, bob = store.ensure_user("alice"), store.ensure_user("bob")
    (mine,) = store.assessments.sign([make_assessment(alice)])

    (theirs,) = store.assessments.sign([make_assessment(bob, birads="2")])

    assert store.assessments.latest(EXAM, user_id=alice) == {"L": mine}
    assert store.assessments.latest(EXAM, user_id=bob) == {"L": theirs}
