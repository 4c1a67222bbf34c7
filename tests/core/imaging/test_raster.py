"""Raster files (PNG, JPEG, TIFF, PGM, gzipped PGM) open as display-ready grey images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.imaging import MammoImage, open_image
from tests.core.imaging import factories
from tests.core.imaging.factories import LIMITS


def _open(path: Path) -> MammoImage:
    return open_image(path, **LIMITS)


def test_8bit_png_is_scaled_by_255(tmp_path: Path) -> None:
    stored = factories.gradient()
    image = _open(factories.write_png(tmp_path / "a.png", stored))

    assert image.pixels.dtype == np.float32
    assert image.pixels.shape == (32, 48)
    np.testing.assert_allclose(image.pixels, stored / 255.0, atol=1e-6)
    meta = image.meta
    assert (meta.width, meta.height, meta.bit_depth, meta.file_format) == (48, 32, 8, "PNG")
    assert meta.source_path == str((tmp_path / "a.png").absolute())
    assert meta.photometric is None
    assert meta.laterality is None


def test_16bit_png_is_scaled_by_65535_without_stretching(tmp_path: Path) -> None:
    # A 12-bit detector's values stored in a 16-bit PNG stay dark: windowing is not our job.
    stored = factories.gradient(maximum=4095).astype(np.uint16)
    image = _open(factories.write_png(tmp_path / "a.png", stored))

    assert image.meta.bit_depth == 16
    np.testing.assert_allclose(image.pixels, stored / 65535.0, atol=1e-6)
    assert image.pixels.max() < 0.07


def test_rgb_png_becomes_luminance(tmp_path: Path) -> None:
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    rgb[..., 1] = 100
    rgb[..., 2] = 50
    image = _open(factories.write_png(tmp_path / "rgb.png", rgb))

    expected = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255.0
    assert image.pixels.shape == (4, 5)
    np.testing.assert_allclose(image.pixels, expected, atol=1e-6)


def test_rgba_png_ignores_alpha(tmp_path: Path) -> None:
    rgba = np.full((4, 5, 4), 128, dtype=np.uint8)
    rgba[..., 3] = 0
    image = _open(factories.write_png(tmp_path / "rgba.png", rgba))

    np.testing.assert_allclose(image.pixels, 128 / 255.0, atol=1e-6)


def test_palette_png_shows_the_palette_colours(tmp_path: Path) -> None:
    indices = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    palette = [255, 255, 255, 0, 0, 0]  # index 0 is white, index 1 is black
    image = _open(factories.write_palette_png(tmp_path / "p.png", indices, palette))

    np.testing.assert_allclose(image.pixels, [[1.0, 0.0], [0.0, 1.0]], atol=1e-6)


def test_jpeg_opens_close_to_the_original(tmp_path: Path) -> None:
    stored = factories.gradient()
    image = _open(factories.write_jpeg(tmp_path / "a.jpg", stored))

    assert image.meta.file_format == "JPEG"
    assert image.meta.bit_depth == 8
    np.testing.assert_allclose(image.pixels, stored / 255.0, atol=0.03)


def test_16bit_tiff(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=65535)
    image = _open(factories.write_tiff(tmp_path / "a.tif", stored))

    assert (image.meta.file_format, image.meta.bit_depth) == ("TIFF", 16)
    np.testing.assert_allclose(image.pixels, stored / 65535.0, atol=1e-6)


def test_8bit_pgm(tmp_path: Path) -> None:
    stored = factories.gradient()
    image = _open(factories.write_pgm(tmp_path / "a.pgm", stored))

    assert (image.meta.file_format, image.meta.bit_depth) == ("PGM", 8)
    np.testing.assert_allclose(image.pixels, stored / 255.0, atol=1e-6)


def test_16bit_pgm(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=65535)
    image = _open(factories.write_pgm(tmp_path / "a.pgm", stored))

    assert (image.meta.file_format, image.meta.bit_depth) == ("PGM", 16)
    np.testing.assert_allclose(image.pixels, stored / 65535.0, atol=1e-6)


def test_gzipped_pgm_opens_like_the_plain_file(tmp_path: Path) -> None:
    plain = factories.write_pgm(tmp_path / "mdb001.pgm", factories.gradient())
    packed = factories.gzip_file(plain, tmp_path / "mdb001.pgm.gz")

    expected = _open(plain)
    image = _open(packed)

    assert image.meta.file_format == "PGM"
    assert image.meta.source_path == str(packed.absolute())
    assert image.meta.pixel_sha256 == expected.meta.pixel_sha256
    np.testing.assert_array_equal(image.pixels, expected.pixels)


def test_format_is_recognised_by_content_not_suffix(tmp_path: Path) -> None:
    stored = factories.gradient()
    image = _open(factories.write_png(tmp_path / "really-a-png.jpg", stored))

    assert image.meta.file_format == "PNG"
    np.testing.assert_allclose(image.pixels, stored / 255.0, atol=1e-6)


def test_same_pixels_give_the_same_hash_across_formats(tmp_path: Path) -> None:
    stored8 = factories.gradient()
    stored16 = factories.gradient(maximum=65535)

    png8 = _open(factories.write_png(tmp_path / "a8.png", stored8))
    pgm8 = _open(factories.write_pgm(tmp_path / "a8.pgm", stored8))
    png16 = _open(factories.write_png(tmp_path / "a16.png", stored16))
    pgm16 = _open(factories.write_pgm(tmp_path / "a16.pgm", stored16))

    assert png8.meta.pixel_sha256 == pgm8.meta.pixel_sha256
    assert png16.meta.pixel_sha256 == pgm16.meta.pixel_sha256
    assert png8.meta.pixel_sha256 != png16.meta.pixel_sha256


def test_different_pixels_give_different_hashes(tmp_path: Path) -> None:
    stored = factories.gradient()
    changed = stored.copy()
    changed[0, 0] += 1

    first = _open(factories.write_png(tmp_path / "a.png", stored))
    second = _open(factories.write_png(tmp_path / "b.png", changed))

    assert first.meta.pixel_sha256 != second.meta.pixel_sha256


def test_meta_to_dict_is_json_safe(tmp_path: Path) -> None:
    image = _open(factories.write_png(tmp_path / "a.png", factories.gradient()))

    as_dict = image.meta.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["file_format"] == "PNG"
    assert as_dict["width"] == 48
