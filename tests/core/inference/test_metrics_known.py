"""Metric code checked on cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from core.inference.aggregate import aggregate
from core.metrics import (
    bootstrap_ci,
    expected_calibration_error,
    fit_platt,
    roc_auc,
    sensitivity_at_specificity,
    sigmoid,
    threshold_at_specificity,
    wilson_interval,
)


def test_auc_known_values():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    # pairs (pos > neg): 0.35>0.1, 0.35<0.4, 0.8>both -> 3 of 4
    assert roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))


def test_operating_point_at_specificity():
    y = np.array([0] * 10 + [1] * 10)
    s = np.concatenate([np.arange(10) / 10, np.arange(10) / 10 + 0.05])
    t = threshold_at_specificity(y, s, 0.8)
    assert (s[:10] < t).mean() >= 0.8
    assert sensitivity_at_specificity(y, s, 0.8) == pytest.approx(0.3)  # 0.75, 0.85, 0.95


def test_ece_of_perfect_and_bad_calibration():
    y = np.array([0, 1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.95)) == pytest.approx(0.45)


def test_platt_recovers_known_parameters():
    rng = np.random.default_rng(1)
    z = rng.normal(size=20000)
    y = rng.random(20000) < sigmoid(2.0 * z - 0.5)
    a, b = fit_platt(z, y)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-0.5, abs=0.06)


def test_wilson_interval_stays_within_zero_and_one():
    for n in (1, 7, 14, 38, 200):
        lo0, _ = wilson_interval(0, n)
        _, hi1 = wilson_interval(n, n)
        assert lo0 == 0.0 and f"{lo0:.2f}" == "0.00"
        assert hi1 <= 1.0 and f"{hi1:.2f}" == "1.00"


def test_wilson_interval_known_value():
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)


def test_patient_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(2)
    y = np.array([0, 1] * 100)
    s = y + rng.normal(scale=1.0, size=200)
    lo, hi = bootstrap_ci(roc_auc, y, s, groups=[str(i // 2) for i in range(200)], n=300)
    assert lo < roc_auc(y, s) < hi and hi - lo < 0.3


def test_pooling_methods():
    x = np.array([[0.0, 0.0, 0.0, 4.0]])
    assert aggregate(x, "mean")[0] == pytest.approx(1.0)
    assert aggregate(x, "max")[0] == pytest.approx(4.0)
    assert aggregate(x, "lse1")[0] == pytest.approx(np.log((3 + np.exp(4)) / 4))
    assert aggregate(x, "mean")[0] < aggregate(x, "lse2")[0] < aggregate(x, "max")[0]
    with pytest.raises(ValueError):
        aggregate(x, "median")
