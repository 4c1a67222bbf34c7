"""Display copies of mammograms and heatmaps, made on workers (no Qt).

A mammogram can be 50 megapixels. The viewer keeps a copy whose longer side is at most
``DISPLAY_MAX_SIDE``, quantised to 12 bits, so window/level is a table lookup and panning and
zooming stay smooth; the full-resolution pixels are only ever needed by the model.

The copy also carries how to show it: whether it is stored negative (bright background; the
model reads it inverted, so the viewer shows it inverted too), what its grey levels stand for
in the file's own values (for window/level in those units) and its window presets.

In the hanging, each breast is turned so that its chest wall faces the middle
(:mod:`core.exams.hanging`): the copy is mirrored left to right where the picture's chest wall
lies on the other edge, and says so (``mirrored``), so that marks and the model's peak, which
are in the file's own pixels, are drawn on the same tissue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from core.imaging import IntensityScale

DISPLAY_MAX_SIDE = 2048
LEVELS = 4096
DEFAULT_PRESET = "Default"
PRESET_NAMES = (DEFAULT_PRESET, "Full range", "Soft tissue", "Dense")
_BACKGROUND = 0.1  # of the image's range above its darkest value: air, not breast
_MIN_WIDTH = 0.01

ChestWall = Literal["left", "right"]


@dataclass(frozen=True)
class WindowPreset:
    """A named window: ``center`` and ``width`` in [0, 1] units of the grey range."""

    name: str
    center: float
    width: float


@dataclass(frozen=True)
class DisplayImage:
    """``levels``: (h, w) uint16 grey levels in [0, LEVELS); 0 is black.

    ``negative``: stored with a bright background, so shown inverted (as the model reads it).
    ``intensity``: what the levels stand for in the file's values (None: not known).
    ``presets``: the windows of :data:`PRESET_NAMES`, for this picture.
    ``mirrored``: ``levels`` are the picture mirrored left to right (to turn its chest wall).
    """

    levels: np.ndarray
    original_width: int
    original_height: int
    negative: bool = False
    intensity: IntensityScale | None = None
    presets: tuple[WindowPreset, ...] = ()
    mirrored: bool = False

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


def make_display_image(pixels: np.ndarray, *, max_side: int = DISPLAY_MAX_SIDE,
                       negative: bool = False, intensity: IntensityScale | None = None,
                       chest_wall: ChestWall | None = None) -> DisplayImage:
    """Downscale (area-averaged) a float image in [0, 1] and quantise it for display.

    ``negative`` and ``intensity`` are kept with it (see :class:`DisplayImage`); the window
    presets are measured on the copy. With ``chest_wall``, the copy is mirrored when the
    picture's chest wall lies on the other edge.
    """
    height, width = pixels.shape
    scale = min(1.0, max_side / max(width, height))
    small = np.asarray(pixels, dtype=np.float32)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(Image.fromarray(small, mode="F").resize(size, Image.Resampling.BOX))
    levels = np.clip(np.rint(small * (LEVELS - 1)), 0, LEVELS - 1).astype(np.uint16)
    mirrored = chest_wall is not None and chest_wall_side(levels, negative=negative) != chest_wall
    if mirrored:
        levels = np.ascontiguousarray(levels[:, ::-1])
    return DisplayImage(levels=levels, original_width=width, original_height=height,
                        negative=negative, intensity=intensity,
                        presets=window_presets(levels, negative=negative), mirrored=mirrored)


def chest_wall_side(levels: np.ndarray, *, negative: bool = False) -> ChestWall:
    """The edge the breast lies against: the half holding more tissue (brighter as shown).

    The breast is widest at the chest wall and tapers to the nipple, so its tissue weighs
    towards the chest wall's edge (the rule the model's preprocessing orients pictures by).
    """
    half = levels.shape[1] // 2
    shown = (LEVELS - 1) - levels.astype(np.int64) if negative else levels.astype(np.int64)
    left, right = shown[:, :half].sum(), shown[:, levels.shape[1] - half:].sum()
    return "left" if left >= right else "right"


def window_presets(levels: np.ndarray, *, negative: bool) -> tuple[WindowPreset, ...]:
    """The windows of :data:`PRESET_NAMES`: the file's own (the whole grey range, which for a
    DICOM image is its window), the picture's darkest to brightest value, the breast's range
    (soft tissue) and the brighter half of the breast (dense tissue).

    The breast is measured the way it is shown: in a picture stored negative it is the dark
    part, and the window found is turned back for the stored values (the viewer inverts after
    windowing).
    """
    values = levels.astype(np.float32).ravel() / (LEVELS - 1)
    if negative:
        values = 1.0 - values
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    breast = values[values > low + _BACKGROUND * (high - low)]
    if breast.size < max(values.size // 100, 1):
        breast = values
    soft_low, soft_high, dense_low, dense_high = np.percentile(breast, [2.0, 98.0, 60.0, 99.5])
    windows = {
        DEFAULT_PRESET: (0.5, 1.0),
        "Full range": _window(low, high),
        "Soft tissue": _window(soft_low, soft_high),
        "Dense": _window(dense_low, dense_high),
    }
    presets = []
    for name in PRESET_NAMES:
        center, width = windows[name]
        if negative and name != DEFAULT_PRESET:
            center = 1.0 - center
        presets.append(WindowPreset(name=name, center=center, width=width))
    return tuple(presets)


def _window(low: float, high: float) -> tuple[float, float]:
    return (float(low) + float(high)) / 2.0, max(float(high) - float(low), _MIN_WIDTH)


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
