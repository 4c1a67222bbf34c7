"""Display copies of mammograms and heatmaps, made on workers (no Qt).

A mammogram can be 50 megapixels. The viewer keeps a copy whose longer side is at most
``DISPLAY_MAX_SIDE``, quantised to 12 bits, so window/level is a table lookup and panning and
zooming stay smooth; the full-resolution pixels are only ever needed by the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

DISPLAY_MAX_SIDE = 2048
LEVELS = 4096


@dataclass(frozen=True)
class DisplayImage:
    """``levels``: (h, w) uint16 grey levels in [0, LEVELS); 0 is black."""

    levels: np.ndarray
    original_width: int
    original_height: int

    @property
    def width(self) -> int:
        return int(self.levels.shape[1])

    @property
    def height(self) -> int:
        return int(self.levels.shape[0])

    @property
    def scale(self) -> float:
        """Display pixels per original pixel."""
        return self.width / self.original_width


def make_display_image(pixels: np.ndarray, *, max_side: int = DISPLAY_MAX_SIDE) -> DisplayImage:
    """Downscale (area-averaged) a float image in [0, 1] and quantise it for display."""
    height, width = pixels.shape
    scale = min(1.0, max_side / max(width, height))
    small = np.asarray(pixels, dtype=np.float32)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(Image.fromarray(small, mode="F").resize(size, Image.Resampling.BOX))
    levels = np.clip(np.rint(small * (LEVELS - 1)), 0, LEVELS - 1).astype(np.uint16)
    return DisplayImage(levels=levels, original_width=width, original_height=height)


def window_lut(*, center: float, width: float, inverted: bool) -> np.ndarray:
    """Grey level -> 8-bit brightness for a window (center, width) in [0, 1] units."""
    values = np.arange(LEVELS, dtype=np.float32) / (LEVELS - 1)
    low = center - width / 2.0
    out = np.clip((values - low) / max(width, 1e-6), 0.0, 1.0)
    if inverted:
        out = 1.0 - out
    return np.rint(out * 255).astype(np.uint8)


def _heat_colors() -> np.ndarray:
    """256 RGBA colours: transparent blue for low probabilities to opaque red for high."""
    v = np.linspace(0.0, 1.0, 256)
    red = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    green = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    blue = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    alpha = np.clip(v * 1.6, 0, 1)
    return np.rint(np.stack([red, green, blue, alpha], axis=1) * 255).astype(np.uint8)


HEAT_COLORS = _heat_colors()


def heatmap_rgba(probabilities: np.ndarray) -> np.ndarray:
    """(h, w) probabilities in [0, 1] -> (h, w, 4) RGBA uint8."""
    index = np.clip(np.rint(probabilities * 255), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(HEAT_COLORS[index])
