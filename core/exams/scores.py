"""From per-view scores to a score per breast and per exam, each with its class.

The breast's score is the highest score among its views (:func:`highest`): a lesion often shows
clearly in one view and hardly in the other, and averaging would dilute the clear one. This is
a choice, not a measurement: where held-out, exam-level evaluation shows another rule to
separate cancers better for a given model (the mean of CC and MLO, say), pass that rule as
``breast_rule`` and state it in the model card. The exam's score is the higher of its breasts'.

Views whose side is unknown count as one breast of their own until the radiologist says which
side they show, so that their score is never left out of the exam's.

A view that failed (a damaged file, a model error) or has no score is listed with its breast
but counts for nothing; a breast without a scored view has no score and no class, and neither
has an exam without one. Classes are the model's: ``Positive`` at or above its threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from core.exams.model import UNKNOWN, Exam, Laterality

BreastRule = Callable[[Sequence[float]], float]
"""Folds a breast's view scores (at least one) into the breast's score."""

SIDES: tuple[Laterality, ...] = ("L", "R")


def highest(scores: Sequence[float]) -> float:
    """The product's breast rule: the highest view score."""
    return max(scores)


def label_of(score: float | None, *, threshold: float) -> str | None:
    """``Positive`` at or above ``threshold``, else ``Negative``; None without a score."""
    if score is None:
        return None
    return "Positive" if score >= threshold else "Negative"


@dataclass(frozen=True)
class BreastResult:
    """One breast: its score and class (None without a scored view), every view of it in exam
    order (scored or not), and the view whose score decided (the first one on a tie)."""

    side: Laterality
    score: float | None
    label: str | None
    views: tuple[str, ...]
    deciding_view: str | None


@dataclass(frozen=True)
class ExamResult:
    """One exam's result: its score and class at ``threshold``, its breasts (``L`` and ``R``
    always, ``"unknown"`` when some view's side is unknown), and the views that did not count."""

    exam: Exam
    score: float | None
    label: str | None
    threshold: float
    breasts: dict[Laterality, BreastResult]
    not_scored: tuple[str, ...]


def score_exam(exam: Exam, scores: Mapping[str, float | None], *, threshold: float,
               breast_rule: BreastRule = highest) -> ExamResult:
    """Aggregate per-view scores (by image path; missing or None for a view that failed)."""
    sides: list[Laterality] = list(SIDES)
    if any(image.laterality == UNKNOWN for image in exam.images):
        sides.append(UNKNOWN)
    breasts = {side: _breast(exam, side, scores, threshold=threshold, rule=breast_rule)
               for side in sides}
    scored = [b for b in breasts.values() if b.score is not None]
    score = max((b.score for b in scored), default=None)  # type: ignore[type-var]
    return ExamResult(exam=exam, score=score, label=label_of(score, threshold=threshold),
                      threshold=threshold, breasts=breasts,
                      not_scored=tuple(p for p in exam.paths if scores.get(p) is None))


def _breast(exam: Exam, side: Laterality, scores: Mapping[str, float | None], *,
            threshold: float, rule: BreastRule) -> BreastResult:
    views = tuple(image.path for image in exam.images if image.laterality == side)
    scored = [(path, s) for path in views if (s := scores.get(path)) is not None]
    if not scored:
        return BreastResult(side=side, score=None, label=None, views=views, deciding_view=None)
    score = rule([s for _, s in scored])
    top = max(s for _, s in scored)
    deciding = next(path for path, s in scored if s == top)
    return BreastResult(side=side, score=score, label=label_of(score, threshold=threshold),
                        views=views, deciding_view=deciding)
