"""The one preprocessing function that training and inference share.

Any mammogram (PNG/JPEG/PGM/DICOM, any size, either polarity, either side) is brought to the
geometry and polarity the model was trained on:

1. polarity: a bright background (more pixels >= 245/255 than <= 10/255) is inverted, the
   test the RSNA data set's README gives for images stored as MONOCHROME1 and never inverted;
2. side: the image is mirrored so that the breast lies on the left;
3. crop: the breast's bounding box is cut out (film labels and empty detector are dropped);
4. contrast: the breast's 1st..99.5th percentile is stretched to [0, 1] (scanners differ);
5. geometry: the crop is stretched to a square canvas (the RSNA images were stretched to
   square, so the model only ever saw stretched breasts) and cut into a grid of patches.

:class:`Geometry` maps canvas coordinates back to the original image, so the heatmap peak can
be reported in the original pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

PREPROCESSING_VERSION = "crop-square512-v3"
CANVAS = 512
PATCH = 128
_MASK_SIZE = 256
_MARGIN = 0.03


@dataclass(frozen=True)
class Geometry:
    """Where the canvas came from: ``canvas = resize(crop(flip?(original)))``."""

    width: int
    height: int
    flipped: bool
    inverted: bool
    box: tuple[int, int, int, int]  # left, top, right, bottom in the (possibly flipped) original
    canvas: int

    def to_canvas(self, x: float, y: float) -> tuple[float, float]:
        """Original image pixels -> canvas pixels (may fall outside the canvas)."""
        left, top, right, bottom = self.box
        if self.flipped:
            x = self.width - x
        return (
            (x - left) * self.canvas / (right - left),
            (y - top) * self.canvas / (bottom - top),
        )

    def scale_to_canvas(self) -> tuple[float, float]:
        """Canvas pixels per original pixel, along x and along y."""
        left, top, right, bottom = self.box
        return self.canvas / (right - left), self.canvas / (bottom - top)

    def to_original(self, x: float, y: float) -> tuple[float, float]:
        """Canvas coordinates (x from the left, y from the top) -> original image pixels."""
        left, top, right, bottom = self.box
        ox = left + x * (right - left) / self.canvas
        oy = top + y * (bottom - top) / self.canvas
        if self.flipped:
            ox = self.width - ox
        return (
            float(np.clip(ox, 0, self.width - 1)),
            float(np.clip(oy, 0, self.height - 1)),
        )


@dataclass(frozen=True)
class Preprocessed:
    canvas: np.ndarray  # (CANVAS, CANVAS) float32 in [0, 1]
    geometry: Geometry


def _resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    img = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0))


def needs_inversion(pixels: np.ndarray) -> bool:
    """True when the background is bright (the image is stored negative)."""
    bright = np.count_nonzero(pixels >= 245 / 255)
    dark = np.count_nonzero(pixels <= 10 / 255)
    return bool(bright > dark)


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=128, range=(0.0, 1.0))
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    omega = np.cumsum(p)
    mu = np.cumsum(p * edges[:-1])
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float(edges[int(np.argmax(between))])


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    best, start, best_span = (0, len(flags)), None, 0
    for i, f in enumerate([*flags.tolist(), False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start > best_span:
                best, best_span = (start, i), i - start
            start = None
    return best


def _breast_box(small: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box of the breast on a small, left-facing image, as fractions."""
    # A quarter of Otsu: on film, Otsu splits dense from fatty tissue, and half of it still
    # cut off the darker skin line and nipple (v2 cropped mdb001 40 px inside its skin line).
    mask = small > max(0.25 * _otsu(small), 0.03)
    cols = mask.mean(axis=0) > 0.01
    c0, c1 = _longest_run(cols)
    rows = mask[:, c0:c1].mean(axis=1) > 0.01
    r0, r1 = _longest_run(rows)
    h, w = small.shape
    if (c1 - c0) < w * 0.1 or (r1 - r0) < h * 0.1:  # nearly blank: keep everything
        return 0.0, 0.0, 1.0, 1.0
    # A margin keeps the skin line whole where the threshold still falls inside it.
    mx, my = round(_MARGIN * w), round(_MARGIN * h)
    c0, r0, c1, r1 = max(0, c0 - mx), max(0, r0 - my), min(w, c1 + mx), min(h, r1 + my)
    return c0 / w, r0 / h, c1 / w, r1 / h


def preprocess(pixels: np.ndarray, *, canvas: int = CANVAS) -> Preprocessed:
    """Bring a display-ready grey image (float in [0, 1], 0 = black) to the model's canvas."""
    if pixels.ndim != 2 or min(pixels.shape) < 8:
        raise ValueError(f"expected a 2-D image of at least 8x8 pixels, got {pixels.shape}")
    img = np.clip(pixels.astype(np.float32, copy=False), 0.0, 1.0)
    inverted = needs_inversion(img)
    if inverted:
        img = 1.0 - img
    h, w = img.shape
    small = _resize(img, _MASK_SIZE, _MASK_SIZE)
    half = _MASK_SIZE // 2
    flipped = bool(small[:, half:].sum() > small[:, :half].sum())
    if flipped:
        img = img[:, ::-1]
        small = small[:, ::-1]
    fx0, fy0, fx1, fy1 = _breast_box(small)
    box = (int(fx0 * w), int(fy0 * h), max(int(np.ceil(fx1 * w)), int(fx0 * w) + 1),
           max(int(np.ceil(fy1 * h)), int(fy0 * h) + 1))
    crop = img[box[1]:box[3], box[0]:box[2]]
    out = _resize(crop, canvas, canvas)
    tissue = out[out > 0.04]
    if tissue.size > 100:
        lo, hi = np.percentile(tissue, [1.0, 99.5])
        if hi - lo > 1e-3:
            out = np.clip((out - lo) / (hi - lo), 0.0, 1.0)
    geometry = Geometry(width=w, height=h, flipped=flipped, inverted=inverted, box=box,
                        canvas=canvas)
    return Preprocessed(canvas=out.astype(np.float32), geometry=geometry)


def to_patches(canvas: np.ndarray, *, patch: int = PATCH) -> np.ndarray:
    """Cut a square canvas into a row-major grid of patches: (n*n, patch, patch, 1)."""
    n = canvas.shape[0] // patch
    grid = canvas[: n * patch, : n * patch].reshape(n, patch, n, patch).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(grid.reshape(n * n, patch, patch, 1))
