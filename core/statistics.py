"""Summaries of stored readings for the workstation's statistics view (no Qt, NumPy only).

Readings per day, the share the model called positive, how often the reader agreed with the
model, and the distribution of calibrated scores. The app draws them; the numbers live here so
that they can be tested without a display and reused by the command line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo

import numpy as np

from core.store import ReadingRecord


@dataclass(frozen=True)
class ReadingStatistics:
    """What the statistics view shows. Rates are None when nothing was counted."""

    total: int
    per_day: list[tuple[date, int]]  # oldest first, days without readings left out
    positive: int
    positive_rate: float | None
    decided: int  # readings with a signed decision
    agreed: int
    agreement_rate: float | None
    histogram_counts: list[int]
    histogram_edges: list[float]  # len(histogram_counts) + 1, over [0, 1]


def summarize_readings(readings: Sequence[ReadingRecord], *, bins: int = 10,
                       tz: tzinfo | None = None) -> ReadingStatistics:
    """Summarise ``readings``; days are counted in ``tz`` (default: the computer's time zone).

    Agreement uses each reading's latest decision only: an amended decision replaces the one
    it amends, as it does for the radiologist.
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    days = Counter(_local_day(r, tz) for r in readings)
    positive = sum(1 for r in readings if r.label == "Positive")
    decided = [r for r in readings if r.feedback is not None]
    agreed = sum(1 for r in decided if r.feedback is not None and r.feedback.agrees_with_model)
    counts, edges = np.histogram(np.asarray([r.score for r in readings], dtype=np.float64),
                                 bins=bins, range=(0.0, 1.0))
    return ReadingStatistics(
        total=len(readings),
        per_day=sorted(days.items()),
        positive=positive,
        positive_rate=positive / len(readings) if readings else None,
        decided=len(decided),
        agreed=agreed,
        agreement_rate=agreed / len(decided) if decided else None,
        histogram_counts=[int(c) for c in counts],
        histogram_edges=[float(e) for e in edges],
    )


def _local_day(reading: ReadingRecord, tz: tzinfo | None) -> date:
    created = reading.created_at
    if created.tzinfo is None:  # the store hands out aware times; be safe with older rows
        created = created.replace(tzinfo=UTC)
    return created.astimezone(tz).date()
