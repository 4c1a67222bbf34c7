"""The rules of the reader's per-breast decision: reading mode, blinding, consistency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.assessment import (
    consistency_question,
    describe,
    is_unchanged,
    model_revealed,
    reading_mode,
)
from core.store import (
    AssessmentId,
    AssessmentRecord,
    FindingMark,
    ModelOpinion,
    NewAssessment,
    UserId,
)

NEGATIVE = ModelOpinion(model_id="m", score=0.12, label="Negative", threshold=0.5)
POSITIVE = ModelOpinion(model_id="m", score=0.91, label="Positive", threshold=0.5)


def make_new(birads: str, *, model: ModelOpinion | None = None, agrees: bool | None = None,
             **overrides: object) -> NewAssessment:
    return NewAssessment(exam_id="e1", side="R", user_id=UserId(1), birads=birads,
                         mode="with_model" if model else "without_model", model=model,
                         agrees_with_model=agrees, **overrides)  # type: ignore[arg-type]


def make_record(new: NewAssessment) -> AssessmentRecord:
    return AssessmentRecord(
        id=AssessmentId("a1"), exam_id=new.exam_id, side=new.side, user_id=new.user_id,
        username="alice", birads=new.birads, density=new.density, marks=new.marks,
        note=new.note.strip(), mode=new.mode, model=new.model,
        agrees_with_model=new.agrees_with_model,
        signed_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC), amends_id=None, amend_reason="")


@pytest.mark.parametrize(("model", "birads", "asks"), [
    (NEGATIVE, "4A", True), (NEGATIVE, "4C", True), (NEGATIVE, "5", True),
    (NEGATIVE, "3", False), (NEGATIVE, "1", False),
    (POSITIVE, "1", True), (POSITIVE, "2", True),
    (POSITIVE, "3", False), (POSITIVE, "5", False),
])
def test_agreeing_with_the_model_against_the_category_asks_for_confirmation(
        model: ModelOpinion, birads: str, asks: bool) -> None:
    question = consistency_question(make_new(birads, model=model, agrees=True))

    assert (question is not None) == asks
    if asks:
        assert f"BI-RADS {birads}" in question and model.label in question
        assert "right breast" in question


@pytest.mark.parametrize("agrees", [False, None])
def test_disagreeing_or_reading_without_the_model_is_not_questioned(agrees: bool | None
                                                                    ) -> None:
    assert consistency_question(make_new("5", model=NEGATIVE, agrees=agrees)) is None
    assert consistency_question(make_new("5")) is None


def test_the_blinded_first_read_reveals_the_model_once_each_breast_is_signed() -> None:
    assert model_revealed(blinded=False, sides_shown=("L", "R"), assessed=())
    assert not model_revealed(blinded=True, sides_shown=("L", "R", "L"), assessed=())
    assert not model_revealed(blinded=True, sides_shown=("L", "R"), assessed=("R",))
    assert model_revealed(blinded=True, sides_shown=("L", "R"), assessed=("R", "L"))
    assert model_revealed(blinded=True, sides_shown=("L",), assessed=("L",))
    # No view's side is known: one signed breast is the first read.
    assert not model_revealed(blinded=True, sides_shown=("unknown",), assessed=())
    assert model_revealed(blinded=True, sides_shown=("unknown",), assessed=("R",))


def test_reading_mode_never_needs_a_model() -> None:
    assert reading_mode(model_output=False, without_model=False, revealed=True) == (
        "without_model")
    assert reading_mode(model_output=True, without_model=True, revealed=True) == (
        "without_model")
    assert reading_mode(model_output=True, without_model=False, revealed=False) == "blinded"
    assert reading_mode(model_output=True, without_model=False, revealed=True) == "with_model"


def test_unchanged_means_the_same_content_however_it_was_signed() -> None:
    mark = FindingMark("/e1/R_CC.png", 10.0, 20.0)
    first = make_record(make_new("4B", density="c", marks=(mark,), note="mass"))

    assert is_unchanged(make_new("4B", density="c", marks=(mark,), note=" mass"), first)
    assert not is_unchanged(make_new("4B", density="c", marks=(mark,), note="mass"), None)
    assert not is_unchanged(make_new("4C", density="c", marks=(mark,), note="mass"), first)
    assert not is_unchanged(make_new("4B", density="c", marks=(), note="mass"), first)
    assert not is_unchanged(
        make_new("4B", density="c", marks=(mark,), note="mass", model=POSITIVE, agrees=True),
        first)


def test_a_history_line_says_what_was_signed_and_how() -> None:
    record = make_record(make_new("4B", density="c", marks=(FindingMark("/p", 1, 2),),
                                  model=NEGATIVE, agrees=False))

    line = describe(record)

    assert "alice: BI-RADS 4B, density c, 1 mark, disagrees with model, model shown" in line
