"""Metrics for a binary classifier's scores: AUC, intervals, operating points, calibration.

NumPy only, so that ``mammo evaluate`` and training share one implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count one half); NaN with one class only."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def threshold_at_specificity(y: np.ndarray, s: np.ndarray, specificity: float) -> float:
    """Smallest threshold whose specificity (score < threshold counts negative) is >= target."""
    neg = np.sort(np.asarray(s, dtype=np.float64)[~np.asarray(y).astype(bool)])
    if neg.size == 0:
        return float("nan")
    k = int(np.ceil(specificity * neg.size))
    if k >= neg.size:
        return float(np.nextafter(neg[-1], np.inf))
    if k <= 0:
        return float(neg[0])
    return float(np.nextafter(neg[k - 1], np.inf))


def sensitivity_specificity(y: np.ndarray, s: np.ndarray, threshold: float) -> tuple[float, float]:
    y = np.asarray(y).astype(bool)
    pred = np.asarray(s) >= threshold
    sens = float(pred[y].mean()) if y.any() else float("nan")
    spec = float((~pred[~y]).mean()) if (~y).any() else float("nan")
    return sens, spec


def sensitivity_at_specificity(y: np.ndarray, s: np.ndarray, specificity: float) -> float:
    return sensitivity_specificity(y, s, threshold_at_specificity(y, s, specificity))[0]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE with equal-width bins over [0, 1], weighted by the share of samples in each bin."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(total)


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        if m.any():
            rows.append({"bin_low": b / bins, "bin_high": (b + 1) / bins, "count": int(m.sum()),
                         "mean_predicted": float(p[m].mean()), "observed": float(y[m].mean())})
    return rows


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    s: np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    n: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap interval; resamples whole groups (patients) when given."""
    y = np.asarray(y)
    s = np.asarray(s)
    rng = np.random.default_rng(seed)
    if groups is None:
        members = [np.array([i]) for i in range(len(y))]
    else:
        by_group: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            by_group.setdefault(str(g), []).append(i)
        members = [np.array(v) for v in by_group.values()]
    values = []
    for _ in range(n):
        pick = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[i] for i in pick])
        v = metric(y[idx], s[idx])
        if np.isfinite(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion."""
    if total == 0:
        return float("nan"), float("nan")
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    # clipped: at 0 or n successes rounding would otherwise print "-0.000" or "1.000...02"
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def fit_platt(logit: np.ndarray, y: np.ndarray, iters: int = 100) -> tuple[float, float]:
    """Fit p = sigmoid(a * logit + b) by Newton's method on the log-loss (Platt scaling)."""
    x = np.asarray(logit, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    a, b = 1.0, 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a * x + b)))
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - t) * x), np.sum(p - t)])
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        h += np.eye(2) * 1e-9
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(a), float(b)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
