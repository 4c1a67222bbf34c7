from __future__ import annotations

from datetime import timedelta

from core.sync.backoff import backoff_delay


def test_the_wait_doubles_with_each_failure_up_to_the_cap() -> None:
    lows = [backoff_delay(n, random_fraction=lambda: 0.0) for n in range(1, 12)]
    highs = [backoff_delay(n, random_fraction=lambda: 0.999999) for n in range(1, 12)]

    assert lows[:4] == [timedelta(seconds=s) for s in (2.5, 5, 10, 20)]
    assert all(high < 2 * low for low, high in zip(lows, highs, strict=True))
    assert max(highs) <= timedelta(minutes=15)
    assert backoff_delay(10_000, random_fraction=lambda: 1.0) == timedelta(minutes=15)


def test_jitter_spreads_workstations_over_half_the_window() -> None:
    delays = {backoff_delay(3, random_fraction=lambda f=f: f) for f in (0.0, 0.25, 0.5, 1.0)}

    assert sorted(delays) == [timedelta(seconds=s) for s in (10, 12.5, 15, 20)]
