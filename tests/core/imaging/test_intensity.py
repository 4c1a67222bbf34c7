"""Each opened image says what its pixels stand for in the file's own values, so the viewer
can give window and level in DICOM values or stored grey levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.imaging import MammoImage, open_image
from tests.core.imaging import factories
from tests.core.imaging.factories import LIMITS


def _open(path: Path) -> MammoImage:
    return open_image(path, **LIMITS)


def test_a_dicom_window_reads_back_as_the_files_window_in_dicom_values(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=4000).astype(np.uint16)
    ds = factories.mammo_dataset(stored)
    ds.WindowCenter = [1000, 2000]  # several windows: the first is the one applied
    ds.WindowWidth = [500, 1000]
    image = _open(factories.write_dicom(tmp_path / "w.dcm", ds))

    scale = image.intensity
    assert scale is not None and scale.unit == "DICOM value"
    assert (scale.value_of(0.5), scale.span_of(1.0)) == (1000.0, 500.0)
    inside = (stored > 800) & (stored < 1200)
    back = np.vectorize(scale.value_of)(image.pixels[inside].astype(np.float64))
    np.testing.assert_allclose(back, stored[inside], atol=1.0)


def test_without_a_window_black_and_white_are_the_images_own_range(tmp_path: Path) -> None:
    stored = (factories.gradient(maximum=1000) + 100).astype(np.uint16)
    image = _open(factories.write_dicom(tmp_path / "n.dcm", factories.mammo_dataset(stored)))

    assert image.intensity is not None
    assert (image.intensity.at_black, image.intensity.at_white) == (100.0, 1100.0)


def test_monochrome1_has_its_largest_value_at_black(tmp_path: Path) -> None:
    stored = (factories.gradient(maximum=1000) + 100).astype(np.uint16)
    ds = factories.mammo_dataset(stored, photometric="MONOCHROME1")
    image = _open(factories.write_dicom(tmp_path / "m1.dcm", ds))

    assert image.intensity is not None
    assert (image.intensity.at_black, image.intensity.at_white) == (1100.0, 100.0)
    assert image.intensity.value_of(float(image.pixels[0, 0])) == pytest.approx(100.0)


def test_a_voi_lut_or_sigmoid_window_has_no_linear_scale(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=4000).astype(np.uint16)
    with_lut = factories.add_voi_lut(factories.mammo_dataset(stored),
                                     np.arange(8192, dtype=np.uint16))
    sigmoid = factories.mammo_dataset(stored)
    sigmoid.WindowCenter, sigmoid.WindowWidth, sigmoid.VOILUTFunction = 1000, 500, "SIGMOID"

    assert _open(factories.write_dicom(tmp_path / "lut.dcm", with_lut)).intensity is None
    assert _open(factories.write_dicom(tmp_path / "sig.dcm", sigmoid)).intensity is None


@pytest.mark.parametrize(("maximum", "white"), [(255, 255.0), (4095, 65535.0)])
def test_a_png_is_in_its_stored_grey_levels(tmp_path: Path, maximum: int, white: float) -> None:
    image = _open(factories.write_png(tmp_path / "g.png", factories.gradient(maximum=maximum)))

    assert image.intensity is not None
    assert (image.intensity.at_black, image.intensity.at_white) == (0.0, white)
