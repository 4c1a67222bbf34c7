"""Per-view scores fold into a breast score (the highest view) and an exam score (the higher
breast), each with the model's class; failed views are listed but never count."""

from __future__ import annotations

from statistics import mean

import pytest

from core.exams import score_exam
from tests.core.exams.factories import exam

FOUR_VIEWS = exam("E1", ("lcc", "L", "CC"), ("lmlo", "L", "MLO"), ("rcc", "R", "CC"),
                  ("rmlo", "R", "MLO"))


def test_breast_is_its_highest_view_and_exam_its_higher_breast() -> None:
    result = score_exam(FOUR_VIEWS, {"lcc": 0.2, "lmlo": 0.7, "rcc": 0.4, "rmlo": 0.1},
                        threshold=0.5)

    left, right = result.breasts["L"], result.breasts["R"]
    assert (left.score, left.label, left.views, left.deciding_view) == (
        0.7, "Positive", ("lcc", "lmlo"), "lmlo")
    assert (right.score, right.label, right.deciding_view) == (0.4, "Negative", "rcc")
    assert (result.score, result.label, result.threshold) == (0.7, "Positive", 0.5)
    assert set(result.breasts) == {"L", "R"} and result.not_scored == ()


def test_a_score_at_the_threshold_is_positive_and_a_tie_names_the_first_view() -> None:
    result = score_exam(FOUR_VIEWS, {"lcc": 0.5, "lmlo": 0.5, "rcc": 0.5, "rmlo": 0.2},
                        threshold=0.5)

    assert result.breasts["L"].deciding_view == "lcc"
    assert (result.breasts["L"].label, result.breasts["R"].label) == ("Positive", "Positive")
    assert (result.score, result.label) == (0.5, "Positive")


def test_failed_views_are_listed_but_do_not_count() -> None:
    # The failed view would have been the highest; it must not lift or lower anything.
    result = score_exam(FOUR_VIEWS, {"lcc": 0.3, "lmlo": None, "rcc": 0.1}, threshold=0.5)

    assert result.breasts["L"].views == ("lcc", "lmlo")
    assert (result.breasts["L"].score, result.breasts["L"].deciding_view) == (0.3, "lcc")
    assert result.not_scored == ("lmlo", "rmlo")
    assert (result.score, result.label) == (0.3, "Negative")


def test_a_breast_without_a_scored_view_has_no_score_and_no_class() -> None:
    one_side = exam("E2", ("lcc", "L", "CC"), ("lmlo", "L", "MLO"), ("rcc", "R", "CC"))

    result = score_exam(one_side, {"lcc": 0.8, "lmlo": 0.6, "rcc": None}, threshold=0.5)

    right = result.breasts["R"]
    assert (right.score, right.label, right.views, right.deciding_view) == (
        None, None, ("rcc",), None)
    missing = score_exam(exam("E3", ("lcc", "L", "CC")), {"lcc": 0.1}, threshold=0.5)
    assert missing.breasts["R"].views == () and missing.breasts["R"].score is None
    assert (result.score, result.label) == (0.8, "Positive")


def test_an_exam_without_any_scored_view_has_no_score() -> None:
    result = score_exam(FOUR_VIEWS, {}, threshold=0.5)

    assert (result.score, result.label) == (None, None)
    assert result.not_scored == ("lcc", "lmlo", "rcc", "rmlo")


def test_views_of_unknown_side_count_as_a_breast_of_their_own() -> None:
    mixed = exam("E4", ("a", "L", "CC"), ("b", "unknown", "unknown"), ("c", "unknown", "MLO"))

    result = score_exam(mixed, {"a": 0.2, "b": 0.9, "c": 0.4}, threshold=0.5)

    unknown = result.breasts["unknown"]
    assert (unknown.score, unknown.views) == (0.9, ("b", "c"))
    assert (result.score, result.label) == (0.9, "Positive")


def test_another_breast_rule_can_be_given() -> None:
    result = score_exam(FOUR_VIEWS, {"lcc": 0.2, "lmlo": 0.6, "rcc": 0.3, "rmlo": 0.3},
                        threshold=0.35, breast_rule=mean)

    assert result.breasts["L"].score == pytest.approx(0.4)
    assert result.breasts["L"].deciding_view == "lmlo"
    assert (result.score, result.label) == (pytest.approx(0.4), "Positive")
