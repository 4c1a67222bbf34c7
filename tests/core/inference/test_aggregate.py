"""Pooling of a whole-canvas logit map into the image logit."""

from __future__ import annotations

import numpy as np
import pytest

from core.inference.aggregate import MAP_METHODS, aggregate_map, window_means


def test_window_means_are_the_means_of_every_window():
    rng = np.random.default_rng(0)
    cam = rng.normal(size=(16, 16))
    w = window_means(cam, 4)
    assert w.shape == (13, 13)
    for r, c in ((0, 0), (5, 7), (12, 12)):
        assert w[r, c] == pytest.approx(cam[r:r + 4, c:c + 4].mean())


def test_a_small_hot_spot_raises_the_windowed_max_not_the_mean():
    cam = np.full((16, 16), -3.0)
    hot = cam.copy()
    hot[6:8, 9:11] = 5.0  # a lesion-sized spot, 2x2 cells
    assert aggregate_map(hot, "map-mean") - aggregate_map(cam, "map-mean") < 0.5
    assert aggregate_map(hot, "map-win4-max") == pytest.approx(-3.0 + 8.0 * 4 / 16)
    assert aggregate_map(hot, "map-max") == 5.0
    for m in MAP_METHODS:
        assert aggregate_map(hot, m) > aggregate_map(cam, m)


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown map aggregation"):
        aggregate_map(np.zeros((4, 4)), "map-median")
