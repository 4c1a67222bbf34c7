"""Scores and thresholds as text that never contradicts the class shown beside them (no Qt).

Rounded to two decimals, a score of 0.4999 reads "0.50" next to "threshold 0.500" and
"Negative", which looks like a defect of the model. Scores get three decimals, and more where
rounding would carry them across the threshold as shown; when even six would, the score is
shown as "<0.500" or "≥0.500".
"""

from __future__ import annotations

SCORE_DIGITS = 3
MAX_DIGITS = 6


def threshold_text(threshold: float) -> str:
    """Three decimals, or as many more (up to six) as the threshold needs to be shown exactly."""
    exact = round(threshold, MAX_DIGITS)
    for digits in range(SCORE_DIGITS, MAX_DIGITS + 1):
        text = f"{threshold:.{digits}f}"
        if float(text) == exact:
            return text
    return f"{threshold:.{MAX_DIGITS}f}"


def score_text(*, score: float, threshold: float, positive: bool) -> str:
    """``score`` with three decimals, on the same side of ``threshold_text(threshold)`` as the
    class (``positive``: Positive at or above the threshold) shown with it.

    >>> score_text(score=0.4999, threshold=0.5, positive=False)
    '0.4999'
    """
    shown_threshold = float(threshold_text(threshold))
    for digits in range(SCORE_DIGITS, MAX_DIGITS + 1):
        text = f"{score:.{digits}f}"
        if (float(text) >= shown_threshold) == positive:
            return text
    return f"{'≥' if positive else '<'}{threshold_text(threshold)}"
