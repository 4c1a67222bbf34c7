"""Exponential backoff with jitter, so that a hospital's workstations coming back online after
an outage do not all hit the server in the same second."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=15)


def backoff_delay(
    attempt: int,
    *,
    base: timedelta = BASE_DELAY,
    cap: timedelta = MAX_DELAY,
    random_fraction: Callable[[], float] = random.random,
) -> timedelta:
    """How long to wait before try number ``attempt + 1`` after ``attempt`` failures (>= 1).

    "Equal jitter": half of ``min(cap, base * 2**(attempt - 1))`` for sure, the other half at
    random, so the wait keeps growing while workstations spread out.
    """
    exponent = min(max(attempt, 1) - 1, 30)  # 2**30 * base is far past any cap
    ceiling = min(cap, base * (2**exponent))
    return ceiling / 2 + (ceiling / 2) * random_fraction()
