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


class _Brightness:
    """A stand-in network whose window logit is the window's mean grey level."""

    def __init__(self) -> None:
        self.windows = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.windows += len(x)
        return x.reshape(len(x), -1).mean(axis=1)


def _films() -> tuple[dict, np.ndarray]:
    canvases = np.zeros((3, 512, 512), np.uint8)
    canvases[:, :, :320] = 60  # breast on the left, background on the right
    canvases[0, 230:290, 100:160] = 250  # a bright lesion centred at (130, 260)
    canvases[1, 40:100, 200:260] = 250  # a bright look-alike away from the lesion
    canvases[2, 300:360, 40:100] = 200
    index = {"canvas": 512, "samples": [
        {"dataset": "ddsm", "findings": [{"x": 130.0, "y": 260.0, "rx": 30.0, "ry": 30.0,
                                          "box": True}]},
        {"dataset": "ddsm", "findings": [{"x": 100.0, "y": 420.0, "rx": 20.0, "ry": 20.0,
                                          "box": True}]},
        {"dataset": "mias", "findings": []}]}
    return index, canvases


def test_live_mining_scores_breast_windows_and_says_where_the_top_window_fell():
    from core.inference.windows import tissue_windows
    from core.training.stage1_hard import mine_live, score_windows

    index, canvases = _films()
    net = _Brightness()
    scored = score_windows(net, canvases, [0, 1, 2], chunk=2)
    masks = [tissue_windows(c, level=0.08 * 255) for c in canvases]
    assert net.windows == sum(int(m.sum()) for m in masks)  # only breast-centred windows run
    for i, (m, logits) in scored.items():
        assert (m == masks[i]).all() and np.isinf(logits[~m]).all() and np.isfinite(logits[m]).all()
    hard, share = mine_live(net, index, canvases, [0, 1, 2], per_image=2)
    # Film 0's top window is its lesion, film 1's a look-alike: one of two located films.
    assert share["images"] == 2 and share["peak_inside"] == 1
    by_row = {i: [h for h in hard if h[0] == i] for i in range(3)}
    assert all(len(v) == 2 for v in by_row.values())
    for _, x, y, _ in by_row[0]:  # never a window over the lesion (+ margin)
        assert abs(x - 130) > 64 + 30 + 8 or abs(y - 260) > 64 + 30 + 8
    # The look-alike of film 1 is mined first, and every mined window is breast-centred.
    assert by_row[1][0][3] == max(h[3] for h in by_row[1])
    assert abs(by_row[1][0][1] - 230) <= 64 and abs(by_row[1][0][2] - 70) <= 64
    assert all(x < 320 for _, x, _, _ in hard)
