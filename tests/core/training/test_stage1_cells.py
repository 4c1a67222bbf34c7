"""Stage 1c: the windows it trains on carry cell targets that follow the lesion, through the
augmentation too."""

from __future__ import annotations

import numpy as np

from core.training.stage1_cells import augment_with_targets, sample_windows
from core.training.stage2_windows import window_cell_targets


def _index_and_canvases():
    size = 512
    canvases = np.full((3, size, size), 120, np.uint8)
    canvases[:, :, 400:] = 0  # background on the right
    finding = {"x": 200.0, "y": 150.0, "rx": 20.0, "ry": 20.0, "box": True}
    samples = [
        {"dataset": "ddsm", "findings": [finding], "fold": 1, "label": 1},
        {"dataset": "mias", "findings": [], "fold": 1, "label": 0},
        {"dataset": "mias", "findings": [], "fold": 2, "label": 0},
    ]
    # the lesion is bright, so a window's pixels show where its target cells are
    canvases[0, 130:171, 180:221] = 250
    return {"samples": samples, "canvas": size}, canvases, finding


def test_the_cells_over_the_finding_are_the_targets():
    t, w = window_cell_targets([{"x": 200.0, "y": 150.0, "rx": 20.0, "ry": 20.0}], 128.0, 64.0)
    # window x 128-256, y 64-192; cells of 32 px: the centre (200, 150) is in row 2, col 2
    assert np.nonzero(t) == (np.array([2]), np.array([2]))
    # cells next to the box are not scored; far ones are tissue
    assert w[2, 2] == 1 and w[1, 1] == 0 and w[0, 0] == 1


def test_sampled_windows_put_their_targets_on_the_lesion_pixels():
    index, canvases, _ = _index_and_canvases()
    rng = np.random.default_rng(0)
    hard = [(1, 300.0, 300.0, 2.0)]
    x, t = sample_windows(index, canvases, [0], [1, 2], hard, rng)
    assert x.shape == (4, 128, 128) and t.shape == (4, 4, 4, 2)
    lesion = t[0]
    assert lesion[..., 0].sum() >= 1
    # positive cells are weighted up to count as much as the negative cells
    neg = ((lesion[..., 1] > 0) & (lesion[..., 0] == 0)).sum()
    assert lesion[..., 1][lesion[..., 0] > 0].max() == max(1.0, neg / lesion[..., 0].sum())
    # every target cell shows the bright lesion, no tissue cell does
    cells = x[0].reshape(4, 32, 4, 32).max(axis=(1, 3))
    assert (cells[lesion[..., 0] > 0] == 250).all()
    assert (cells[(lesion[..., 1] > 0) & (lesion[..., 0] == 0)] < 250).all()
    # the other windows hold no lesion
    assert t[1:, ..., 0].sum() == 0


def test_augmentation_turns_targets_with_the_window():
    index, canvases, _ = _index_and_canvases()
    rng = np.random.default_rng(1)
    x, t = sample_windows(index, canvases, [0], [1], [], rng)
    for seed in range(6):
        xa, ta = augment_with_targets(x[:1], t[:1], np.random.default_rng(seed))
        cells = xa[0].reshape(4, 32, 4, 32).max(axis=(1, 3))
        bright = cells > 200  # gamma moves grey levels, not the lesion's place
        assert (bright[ta[0, ..., 0] > 0]).all()
        assert not bright[(ta[0, ..., 1] > 0) & (ta[0, ..., 0] == 0)].any()
