"""Pooling of patch logits into one image logit (multiple-instance learning).

The method is chosen on out-of-fold predictions at training time and named in the manifest;
training and inference use this one function.
"""

from __future__ import annotations

import numpy as np

METHODS = ("mean", "lse1", "lse2", "lse4", "max")


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
