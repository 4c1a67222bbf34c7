"""The shared preprocessing: polarity, side, crop, canvas and the way back to the original."""

from __future__ import annotations

import numpy as np

from core.imaging import open_image
from core.inference.preprocess import CANVAS, needs_inversion, preprocess, to_patches
from core.training.data import load_mias
from tests.conftest import FIXTURES


def make_breast(h: int = 600, w: int = 480, *, side: str = "left") -> np.ndarray:
    """A bright half-ellipse 'breast' with texture against a black background."""
    yy, xx = np.mgrid[0:h, 0:w]
    cx = 0 if side == "left" else w - 1
    inside = ((xx - cx) / (w * 0.7)) ** 2 + ((yy - h / 2) / (h * 0.45)) ** 2 <= 1
    rng = np.random.default_rng(0)
    img = np.where(inside, 0.55 + 0.2 * rng.random((h, w)), 0.0)
    return img.astype(np.float32)


def test_bright_background_is_detected_and_inverted():
    dark = make_breast()
    assert not needs_inversion(dark)
    assert needs_inversion(1.0 - dark)
    a, b = preprocess(dark), preprocess(1.0 - dark)
    assert not a.geometry.inverted and b.geometry.inverted
    assert np.abs(a.canvas - b.canvas).mean() < 0.02


def test_breast_on_the_right_is_mirrored_and_the_peak_maps_back():
    right = make_breast(side="right")
    pre = preprocess(right)
    assert pre.geometry.flipped
    assert pre.canvas[:, :40].mean() > pre.canvas[:, -40:].mean()  # breast now on the left
    x, y = pre.geometry.to_original(*pre.geometry.to_canvas(400.0, 250.0))
    assert abs(x - 400.0) < 1e-6 and abs(y - 250.0) < 1e-6


def test_canvas_is_cropped_to_the_breast_and_square():
    img = np.zeros((1000, 800), dtype=np.float32)
    img[200:800, 0:300] = make_breast(600, 300)
    pre = preprocess(img)
    left, top, right, bottom = pre.geometry.box
    assert pre.canvas.shape == (CANVAS, CANVAS)
    assert top >= 150 and bottom <= 850 and right <= 360
    assert pre.canvas.mean() > 0.3  # the breast fills the canvas


def test_patches_come_in_row_major_grid_order():
    canvas = np.zeros((384, 384), dtype=np.float32)
    canvas[128:256, 256:384] = 1.0  # row 1, column 2 -> patch 5
    patches = to_patches(canvas)
    assert patches.shape == (9, 128, 128, 1)
    assert [int(p.mean() > 0.5) for p in patches] == [0, 0, 0, 0, 0, 1, 0, 0, 0]
    assert to_patches(np.zeros((CANVAS, CANVAS), np.float32), patch=CANVAS).shape == (
        1, CANVAS, CANVAS, 1)


def _geometry(path):
    return preprocess(open_image(path, max_file_bytes=1 << 26, max_pixels=1 << 26).pixels
                      ).geometry


def test_the_crop_keeps_the_skin_line_and_the_lower_breast_of_mdb001():
    # mdb001 (a right breast, mirrored): skin line at about x 315, breast down to y 910.
    # Preprocessing v2 cropped at x 360 and y 848, so lesions there were never seen.
    g = _geometry(FIXTURES / "mias" / "pgm" / "mdb001.pgm.gz")
    assert g.flipped
    left_in_original = g.width - g.box[2]
    assert left_in_original <= 315
    assert g.box[3] >= 905


def test_every_located_finding_of_the_fixtures_lies_inside_the_crop():
    samples = [s for s in load_mias(FIXTURES / "mias") if s.findings]
    assert samples
    for s in samples:
        g = _geometry(s.path)
        for f in s.findings:
            x0, x1 = max(0.0, f.x - f.radius), min(g.width, f.x + f.radius)
            if g.flipped:
                x0, x1 = g.width - x1, g.width - x0
            y0, y1 = max(0.0, f.y - f.radius), min(g.height, f.y + f.radius)
            assert g.box[0] <= x0 + 1 and x1 <= g.box[2] + 1, s.key
            assert g.box[1] <= y0 + 1 and y1 <= g.box[3] + 1, s.key
