"""Platt calibration and an operating threshold, fitted out of fold (pure, NumPy only).

The training pipeline has the same two steps in ``core.metrics``; the server may import only
the wire contracts from ``core`` (the layer rules), so the few lines are repeated here, tested
on their own.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(q / (1 - q))


def fit_platt(x: np.ndarray, y: np.ndarray, *, iters: int = 100) -> tuple[float, float]:
    """``a, b`` of ``p = sigmoid(a x + b)`` minimising the log-loss (Newton's method)."""
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    a, b = 1.0, 0.0
    for _ in range(iters):
        p = sigmoid(a * x + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - t) * x), np.sum(p - t)])
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        step = np.linalg.solve(h + np.eye(2) * 1e-9, g)
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(a), float(b)


def threshold_at_specificity(y: np.ndarray, s: np.ndarray, specificity: float) -> float:
    """The smallest threshold at which at least ``specificity`` of the negatives score below."""
    negatives = np.sort(np.asarray(s, dtype=np.float64)[~np.asarray(y).astype(bool)])
    if negatives.size == 0:
        raise ValueError("no negative case to set a threshold on")
    k = int(np.ceil(specificity * negatives.size))
    if k <= 0:
        return float(negatives[0])
    return float(np.nextafter(negatives[min(k, negatives.size) - 1], np.inf))


def out_of_fold(x: np.ndarray, y: np.ndarray, *, folds: int = 5) -> np.ndarray:
    """Each case's calibrated probability from a Platt fit on the other folds only
    (folds stratified by class, cases in the given order)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    fold = np.empty(len(y), dtype=int)
    for cls in (True, False):
        members = np.flatnonzero(y == cls)
        fold[members] = np.arange(members.size) % folds
    out = np.empty(len(y), dtype=np.float64)
    for k in range(folds):
        held = fold == k
        if not held.any():
            continue
        a, b = fit_platt(x[~held], y[~held])
        out[held] = sigmoid(a * x[held] + b)
    return out
