"""Pure agreement and screening figures with 95 % intervals (no database, no framework).

- proportions (percent agreement, sensitivity, specificity, recall rate) with Wilson score
  intervals, which stay inside [0, 1] and behave for small counts and rates near 0 or 1;
- Cohen's kappa between two yes/no raters with the large-sample standard error
  ``sqrt(po (1 - po) / (n (1 - pe)^2))`` (Cohen 1960), the interval clipped to [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """``numerator / denominator`` with its 95 % Wilson interval; None when nothing counted."""

    numerator: int
    denominator: int
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa with its 95 % interval; None when undefined (one class only)."""

    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class Screening:
    """Sensitivity (of the cancers, how many were called), specificity (of the others, how
    many were not) and recall rate (of all, how many were called)."""

    sensitivity: Proportion
    specificity: Proportion
    recall_rate: Proportion


def proportion(numerator: int, denominator: int, *, z: float = Z95) -> Proportion:
    """The Wilson score interval of ``numerator`` successes in ``denominator`` trials."""
    if denominator <= 0:
        return Proportion(numerator, denominator, None, None, None)
    p = numerator / denominator
    z2 = z * z
    centre = (p + z2 / (2 * denominator)) / (1 + z2 / denominator)
    half = z * math.sqrt(p * (1 - p) / denominator + z2 / (4 * denominator**2)) / (
        1 + z2 / denominator
    )
    return Proportion(numerator, denominator, p, max(0.0, centre - half),
                      min(1.0, centre + half))


def cohen_kappa(first: Sequence[bool], second: Sequence[bool], *, z: float = Z95) -> Kappa:
    """Agreement of two raters' yes/no calls on the same cases, beyond chance.

    Raises:
        ValueError: the sequences differ in length.
    """
    if len(first) != len(second):
        raise ValueError("both raters must call the same cases")
    n = len(first)
    if n == 0:
        return Kappa(None, None, None, 0)
    agree = sum(1 for a, b in zip(first, second, strict=True) if a == b)
    po = agree / n
    p1, p2 = sum(first) / n, sum(second) / n
    pe = p1 * p2 + (1 - p1) * (1 - p2)
    if pe >= 1.0:
        return Kappa(None, None, None, n)
    kappa = (po - pe) / (1 - pe)
    se = math.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))
    return Kappa(kappa, max(-1.0, kappa - z * se), min(1.0, kappa + z * se), n)


def screening(truth: Sequence[bool], called: Sequence[bool]) -> Screening:
    """Figures of ``called`` (recalled or positive) against ``truth`` (cancer).

    Raises:
        ValueError: the sequences differ in length.
    """
    if len(truth) != len(called):
        raise ValueError("every case needs a truth and a call")
    pairs = list(zip(truth, called, strict=True))
    cancers = [c for t, c in pairs if t]
    others = [c for t, c in pairs if not t]
    return Screening(
        sensitivity=proportion(sum(cancers), len(cancers)),
        specificity=proportion(sum(1 for c in others if not c), len(others)),
        recall_rate=proportion(sum(called), len(called)),
    )
