"""Reading statistics: per day, positive rate, agreement on the latest decision, histogram."""

from __future__ import annotations

from datetime import UTC, date, timedelta, timezone

import pytest

from core.statistics import summarize_readings
from core.store import Store
from tests.core.store.factories import StepClock, add_reading


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "mammo.sqlite3", clock=StepClock(step=timedelta(hours=10)))
    yield opened
    opened.close()


def test_summary_counts_days_rates_and_scores(store: Store) -> None:
    a = add_reading(store, n=1, score=0.95, label="Positive")
    b = add_reading(store, n=2, score=0.05, label="Negative")
    add_reading(store, n=3, score=0.55, label="Positive")
    user = store.ensure_user("alice")
    first = store.add_feedback(reading_id=a.id, user_id=user, agrees_with_model=False, birads=2)
    store.add_feedback(reading_id=a.id, user_id=user, agrees_with_model=True, birads=4,
                       amends_id=first.id)
    store.add_feedback(reading_id=b.id, user_id=user, agrees_with_model=True, birads=1)

    stats = summarize_readings(store.list_readings(), bins=4, tz=UTC)

    assert stats.total == 3
    assert stats.positive == 2 and stats.positive_rate == pytest.approx(2 / 3)
    assert (stats.decided, stats.agreed, stats.agreement_rate) == (2, 2, 1.0)  # latest counts
    assert stats.histogram_counts == [1, 0, 1, 1]
    assert stats.histogram_edges == [0.0, 0.25, 0.5, 0.75, 1.0]
    # Clock: readings at 09:00 (+ a few steps of 10 h): two calendar days in UTC.
    assert sum(n for _, n in stats.per_day) == 3
    assert [d for d, _ in stats.per_day] == sorted(d for d, _ in stats.per_day)


def test_days_follow_the_time_zone(store: Store) -> None:
    add_reading(store, n=1)  # 2024-05-01 09:00 UTC
    east = summarize_readings(store.list_readings(), tz=timezone(timedelta(hours=16)))
    assert east.per_day == [(date(2024, 5, 2), 1)]


def test_empty_summary_has_no_rates() -> None:
    stats = summarize_readings([])
    assert stats.total == 0 and stats.positive_rate is None and stats.agreement_rate is None
    assert sum(stats.histogram_counts) == 0
