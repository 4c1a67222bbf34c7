"""The heatmap laid over the original image peaks where the reported peak is."""

from __future__ import annotations

import numpy as np

from core.imaging import open_image
from core.inference.classifier import Classifier
from tests.conftest import FIXTURES


def test_overlay_peak_matches_reported_peak_for_both_sides(tiny_model_dir):
    clf = Classifier.load(tiny_model_dir)
    image = open_image(FIXTURES / "mias" / "pgm" / "mdb023.pgm.gz", max_file_bytes=1 << 26,
                       max_pixels=1 << 26).pixels
    for pixels in (image, image[:, ::-1].copy()):  # as stored, and mirrored
        pred = clf.predict([pixels])[0]
        overlay = pred.heatmap_on_image(max_side=4096)
        assert overlay.shape == pixels.shape
        row, col = np.unravel_index(int(np.argmax(overlay)), overlay.shape)
        g = pred.geometry
        cell_w = (g.box[2] - g.box[0]) / pred.heatmap.shape[1]
        cell_h = (g.box[3] - g.box[1]) / pred.heatmap.shape[0]
        assert abs(col - pred.heatmap_peak[0]) <= cell_w
        assert abs(row - pred.heatmap_peak[1]) <= cell_h
    # mirroring the input mirrors the peak
    a = clf.predict([image])[0].heatmap_peak
    b = clf.predict([image[:, ::-1].copy()])[0].heatmap_peak
    assert abs((image.shape[1] - a[0]) - b[0]) <= cell_w and abs(a[1] - b[1]) <= cell_h
