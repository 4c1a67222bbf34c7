"""Overlapping windows over the canvas, the layout of model v2b.

The stage-1 network learnt on 128x128 patches: run convolutionally over the whole canvas it sees
a context it never learnt on (its heatmap peak fell inside a held-out DDSM lesion box on 12% of
the images), while the same network on 128x128 windows cut at a 64-pixel stride puts its top
window on the lesion far more often. So the canvas is cut into overlapping windows, only those
centred on breast tissue are run, and each window's 4x4 cell logits are laid back onto the
canvas, every 32-pixel cell averaging the windows that cover it: the heatmap keeps the 16x16
grid of the whole-canvas layout and maps to original pixels the same way.

Training (``core/training/stage2.py``) and the app (``core/inference/classifier.py``) both use
these functions, so the windows, the tissue rule and the map are the same in both.
"""

from __future__ import annotations

import numpy as np

WINDOW = 128
STRIDE = 64
CELL = 32  # canvas pixels per cell of a window's 4x4 feature map
TISSUE_LEVEL = 0.08  # canvas grey level (in [0, 1]) above which a pixel counts as breast
# Weight of a window's border cells when overlapping windows are averaged into the map (its
# inner cells weigh 1): border cells see the least context. Chosen out of fold on the
# development films (docs/model.md): 0.1 put the peak in the DDSM box 0.4-3.7 points more
# often than the plain mean. Manifests that do not name it keep the plain mean (1.0).
EDGE_WEIGHT = 0.1


def positions(canvas: int, *, window: int = WINDOW, stride: int = STRIDE) -> np.ndarray:
    """Top-left offsets along one axis (the same for x and y)."""
    return np.arange(0, canvas - window + 1, stride)


def cut_windows(canvas_img: np.ndarray, *, window: int = WINDOW, stride: int = STRIDE
                ) -> np.ndarray:
    """(c, c) canvas -> (k*k, window, window) windows in row-major order."""
    pos = positions(canvas_img.shape[0], window=window, stride=stride)
    return np.stack([canvas_img[y:y + window, x:x + window] for y in pos for x in pos])


def tissue_windows(canvas_img: np.ndarray, *, level: float = TISSUE_LEVEL,
                   window: int = WINDOW, stride: int = STRIDE) -> np.ndarray:
    """Boolean (k*k,): windows whose centre pixel is breast. ``level`` is in the canvas's own
    units (0.08 for float canvases in [0, 1], 0.08 * 255 for uint8). Never all False: a canvas
    without breast (it cannot happen after the crop, but a blank image can) keeps every window."""
    pos = positions(canvas_img.shape[0], window=window, stride=stride)
    half = window // 2
    mask = np.array([canvas_img[y + half, x + half] > level for y in pos for x in pos])
    return mask if mask.any() else np.ones_like(mask)


def window_logits(cell_logits: np.ndarray) -> np.ndarray:
    """(k, h, w) cell logits of k windows -> (k,) window logits (their mean)."""
    return np.asarray(cell_logits, np.float64).reshape(len(cell_logits), -1).mean(axis=1)


def assemble_map(cell_logits: np.ndarray, mask: np.ndarray, canvas: int, *,
                 window: int = WINDOW, stride: int = STRIDE, edge_weight: float = 1.0
                 ) -> np.ndarray:
    """Cell logits of the run windows -> a (canvas/CELL, canvas/CELL) canvas map.

    ``cell_logits``: (mask.sum(), window/CELL, window/CELL), in the order of the True entries
    of ``mask``. Each canvas cell is the weighted mean over the run windows that cover it, a
    window's border cells weighing ``edge_weight`` and its inner cells 1; cells no run window
    covers take the lowest value of the map, so they never hold its peak."""
    g, c = canvas // CELL, window // CELL
    pos = positions(canvas, window=window, stride=stride) // CELL
    side = np.ones(c)
    side[[0, -1]] = edge_weight
    weight = np.outer(side, side)
    acc = np.zeros((g, g))
    cnt = np.zeros((g, g))
    run = iter(np.asarray(cell_logits, np.float64))
    for k, (y, x) in enumerate((y, x) for y in pos for x in pos):
        if mask[k]:
            acc[y:y + c, x:x + c] += weight * next(run)
            cnt[y:y + c, x:x + c] += weight
    covered = cnt > 0
    out = np.zeros((g, g))
    out[covered] = acc[covered] / cnt[covered]
    out[~covered] = out[covered].min()
    return out.astype(np.float32)
