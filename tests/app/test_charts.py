"""The statistics charts count whole readings."""

from __future__ import annotations

from datetime import UTC

from core.statistics import summarize_readings
from tests.core.store.factories import add_reading


def test_axes_that_count_readings_have_whole_number_ticks(store) -> None:
    from app.charts import statistics_figure

    add_reading(store, n=1, score=0.81)
    add_reading(store, n=2, score=0.35, label="Negative")
    stats = summarize_readings(store.list_readings(), tz=UTC)
    assert stats.total == 2

    per_day, histogram, _rates = statistics_figure(stats).axes

    for axes in (per_day, histogram):
        ticks = axes.get_yticks()
        assert len(ticks) >= 2
        assert all(float(tick).is_integer() for tick in ticks), ticks
