"""Pooling of patch logits into one image logit (multiple-instance learning).

The method is chosen on out-of-fold predictions at training time and named in the manifest;
training and inference use this one function.
"""

from __future__ import annotations

import numpy as np

METHODS = ("mean", "lse1", "lse2", "lse4", "max")
# Poolings of one whole-canvas logit map (the network run convolutionally over the canvas):
# "win4" first averages 4x4 cells (a 128-pixel window, the patch size stage 1 learnt on).
MAP_METHODS = ("map-mean", "map-max", "map-lse4", "map-win4-max", "map-win4-lse4",
               "map-win4-lse8")


def aggregate(patch_logits: np.ndarray, method: str) -> np.ndarray:
    """``(n_images, n_patches)`` logits -> ``(n_images,)`` image logits."""
    x = np.asarray(patch_logits, dtype=np.float64)
    if method == "mean":
        return x.mean(axis=1)
    if method == "max":
        return x.max(axis=1)
    if method.startswith("lse"):
        r = float(method[3:])
        m = x.max(axis=1, keepdims=True)
        lme = np.log(np.mean(np.exp(r * (x - m)), axis=1)) / r
        return lme + m[:, 0]
    raise ValueError(f"unknown aggregation {method!r}; expected one of {METHODS}")


def window_means(cam: np.ndarray, size: int) -> np.ndarray:
    """Means of every ``size`` x ``size`` window of a ``(h, w)`` map (stride 1)."""
    x = np.asarray(cam, dtype=np.float64)
    size = min(size, *x.shape)
    c = np.pad(x, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
    s = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    return s / (size * size)


def aggregate_map(cam: np.ndarray, method: str) -> float:
    """One ``(h, w)`` logit map -> the image logit, by a method of ``MAP_METHODS``."""
    if method not in MAP_METHODS:
        raise ValueError(f"unknown map aggregation {method!r}; expected one of {MAP_METHODS}")
    parts = method.split("-")[1:]
    x = np.asarray(cam, dtype=np.float64)
    if parts[0].startswith("win"):
        x = window_means(x, int(parts[0][3:]))
        parts = parts[1:]
    return float(aggregate(x.reshape(1, -1), parts[0])[0])
