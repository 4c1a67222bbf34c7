"""The whole-canvas model: one input per image, a logit map, map pooling, peak mapped back."""

from __future__ import annotations

import numpy as np

from core.inference.classifier import Classifier, heatmap_peak
from core.inference.preprocess import CANVAS


def test_the_heatmap_peak_is_refined_between_cells():
    cam = np.zeros((16, 16), np.float32)
    cam[5, 8] = 1.0
    cam[5, 9] = 1.0  # the maximum lies between two cells
    x, y = heatmap_peak(cam, canvas=512)
    assert 8.5 * 32 <= x <= 9.5 * 32
    assert abs(y - 5.5 * 32) <= 8


def test_the_tiny_canvas_model_reads_one_input_per_image(tiny_model_dir):
    clf = Classifier.load(tiny_model_dir)
    assert clf.manifest.input_size == CANVAS and clf.manifest.aggregation.startswith("map-")
    rng = np.random.default_rng(1)
    img = np.zeros((700, 500), np.float32)
    img[50:650, :350] = 0.4 + 0.3 * rng.random((600, 350))
    preds = clf.predict([img, img[:, ::-1].copy()])
    assert preds[0].heatmap.shape == (CANVAS // 32, CANVAS // 32)
    assert abs(preds[0].score - preds[1].score) < 1e-5  # mirrored: the same breast
    a, b = preds[0].heatmap_peak, preds[1].heatmap_peak
    assert abs((img.shape[1] - a[0]) - b[0]) <= 2 and abs(a[1] - b[1]) <= 2
