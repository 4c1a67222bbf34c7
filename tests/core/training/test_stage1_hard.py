"""Stage 1b: hard negatives are the top-scoring windows clear of every finding."""

from __future__ import annotations

import numpy as np

from core.inference.windows import positions
from core.training.stage1_hard import mine_hard_negatives


def test_the_hardest_windows_clear_of_the_lesion_are_mined():
    k = len(positions(512)) ** 2
    feats = np.zeros((2, k, 4, 4, 8), np.float16)
    kernel = np.zeros(8, np.float32)
    kernel[0] = 1.0
    for j in range(k):
        feats[0, j, ..., 0] = j  # the later the window, the higher its score
    feats[1, 5, ..., 0] = 9.0
    masks = np.ones((2, k), bool)
    masks[0, k - 1] = False  # the top window is background: never mined
    # a lesion at (448, 384): the centre of window 41 (row 5, column 6)
    index = {"canvas": 512, "samples": [
        {"findings": [{"x": 384.0 + 64, "y": 320.0 + 64, "rx": 10.0, "ry": 10.0}]},
        {"findings": []}]}
    hard = mine_hard_negatives(index, feats, masks, kernel, 0.0, [0, 1], per_image=2)
    rows = [h for h in hard if h[0] == 0]
    # Window 48 (background) and the windows overlapping the lesion (+ 8 px) are skipped; the
    # highest clear ones come first, with their logits.
    centres = [(x, y) for _, x, y, _ in rows]
    assert len(rows) == 2 and rows[0][3] >= rows[1][3]
    for x, y in centres:
        assert abs(x - 448) > 64 + 10 + 8 or abs(y - 384) > 64 + 10 + 8
    assert [h for h in hard if h[0] == 1][0][1:3] == (5 * 64 + 64.0, 64.0)
