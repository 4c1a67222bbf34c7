"""DICOM files open as the radiologist would see them: modality, VOI, then MONOCHROME1; what
is not a single 2-D mammogram is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import (
    BreastTomosynthesisImageStorage,
    CTImageStorage,
    DigitalMammographyXRayImageStorageForProcessing,
    JPEG2000Lossless,
    RLELossless,
)

from core.errors import ImageDecodeError
from core.imaging import MammoImage, open_image
from tests.core.imaging import factories
from tests.core.imaging.factories import LIMITS


def _open(path: Path) -> MammoImage:
    return open_image(path, **LIMITS)


def _refused(path: Path) -> ImageDecodeError:
    with pytest.raises(ImageDecodeError) as refused:
        _open(path)
    return refused.value


def test_monochrome1_with_rescale_and_voi_lut_applies_modality_voi_invert_in_order(
    tmp_path: Path,
) -> None:
    stored = factories.gradient(maximum=4000).astype(np.uint16)
    lut = np.round(65535 * (np.arange(8192) / 8191) ** 2).astype(np.uint16)
    ds = factories.mammo_dataset(stored, photometric="MONOCHROME1")
    ds.RescaleSlope = 2
    ds.RescaleIntercept = 10
    factories.add_voi_lut(ds, lut)
    image = _open(factories.write_dicom(tmp_path / "m1.dcm", ds))

    modality = stored.astype(np.int64) * 2 + 10
    expected = 1.0 - lut[modality] / 65535.0
    np.testing.assert_allclose(image.pixels, expected, atol=1e-6)
    # Applying the LUT before the rescale would give a visibly different picture.
    wrong_order = 1.0 - (lut[stored].astype(np.float64) * 2 + 10) / 65535.0
    assert not np.allclose(image.pixels, wrong_order, atol=1e-3)
    # MONOCHROME1: the brightest stored value is shown dark, the lowest bright.
    assert image.pixels[-1, -1] < 0.1
    assert image.pixels[0, 0] > 0.9
    assert image.meta.photometric == "MONOCHROME1"


def test_window_center_and_width_are_applied(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=4000).astype(np.uint16)
    ds = factories.mammo_dataset(stored)
    ds.WindowCenter = 1000
    ds.WindowWidth = 500
    image = _open(factories.write_dicom(tmp_path / "w.dcm", ds))

    values = stored.astype(np.float64)
    expected = np.clip(((values - 999.5) / 499 + 0.5), 0.0, 1.0)
    np.testing.assert_allclose(image.pixels, expected, atol=1e-4)
    assert image.pixels[stored < 700].max() == 0.0
    assert image.pixels[stored > 1300].min() == 1.0


def test_without_voi_the_modality_output_is_stretched_min_to_max(tmp_path: Path) -> None:
    stored = (factories.gradient(maximum=1000) + 100).astype(np.uint16)
    image = _open(factories.write_dicom(tmp_path / "n.dcm", factories.mammo_dataset(stored)))

    np.testing.assert_allclose(image.pixels, (stored - 100.0) / 1000.0, atol=1e-6)


def test_rle_lossless_opens_with_the_same_pixels_as_uncompressed(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=4095).astype(np.uint16)
    plain = _open(factories.write_dicom(tmp_path / "plain.dcm", factories.mammo_dataset(stored)))
    ds = factories.mammo_dataset(stored)
    ds.compress(RLELossless, stored)
    image = _open(factories.write_dicom(tmp_path / "rle.dcm", ds))

    np.testing.assert_array_equal(image.pixels, plain.pixels)
    assert image.meta.pixel_sha256 == plain.meta.pixel_sha256


def test_jpeg2000_lossless_opens(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=4095).astype(np.uint16)
    ds = factories.mammo_dataset(stored)
    ds.compress(JPEG2000Lossless, stored)
    image = _open(factories.write_dicom(tmp_path / "j2k.dcm", ds))

    np.testing.assert_allclose(image.pixels, stored / 4095.0, atol=1e-6)


def test_a_ct_slice_is_refused_as_not_a_mammogram(tmp_path: Path) -> None:
    ds = factories.mammo_dataset(factories.gradient(maximum=4095).astype(np.uint16))
    ds.Modality = "CT"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage

    error = _refused(factories.write_dicom(tmp_path / "ct.dcm", ds))

    assert error.reason.startswith("this is a CT image (modality CT), not a mammogram")


def test_a_tomosynthesis_object_is_refused_by_its_sop_class(tmp_path: Path) -> None:
    first = factories.gradient(maximum=4095).astype(np.uint16)
    ds = factories.mammo_dataset(np.stack([first] * 5), frames=5)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = BreastTomosynthesisImageStorage

    error = _refused(factories.write_dicom(tmp_path / "tomo.dcm", ds))

    assert "Breast Tomosynthesis Image Storage" in error.reason
    assert "not a 2-D mammogram" in error.reason


def test_a_multiframe_mammogram_is_refused(tmp_path: Path) -> None:
    first = factories.gradient(maximum=4095).astype(np.uint16)
    ds = factories.mammo_dataset(np.stack([first, first[::-1, ::-1]]), frames=2)

    error = _refused(factories.write_dicom(tmp_path / "mf.dcm", ds))

    assert error.reason.startswith("it holds 2 frames")


def test_a_colour_dicom_is_refused(tmp_path: Path) -> None:
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    ds = factories.mammo_dataset(rgb, photometric="RGB", bits_stored=8)

    error = _refused(factories.write_dicom(tmp_path / "rgb.dcm", ds))

    assert "photometric interpretation RGB is not a greyscale mammogram" in error.reason


def test_a_for_processing_image_is_refused(tmp_path: Path) -> None:
    ds = factories.mammo_dataset(factories.gradient(maximum=4095).astype(np.uint16))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = (
        DigitalMammographyXRayImageStorageForProcessing)

    error = _refused(factories.write_dicom(tmp_path / "raw.dcm", ds))

    assert "raw 'for processing' image" in error.reason


@pytest.mark.parametrize(("modality", "sop_class"), [
    (None, None),  # an old export that does not say what it is
    ("DX", "1.2.840.10008.5.1.4.1.1.1.1"),  # DX For Presentation, from an older system
    ("CR", "1.2.840.10008.5.1.4.1.1.1"),
    ("MG", "1.2.840.10008.5.1.4.1.1.7"),  # digitised film as a secondary capture
])
def test_mammograms_stored_under_other_x_ray_classes_open(
    tmp_path: Path, modality: str | None, sop_class: str | None
) -> None:
    stored = factories.gradient(maximum=4095).astype(np.uint16)
    ds = factories.mammo_dataset(stored)
    for keyword, value in (("Modality", modality), ("SOPClassUID", sop_class)):
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    image = _open(factories.write_bare_dicom(tmp_path / "IM0001", ds))

    np.testing.assert_allclose(image.pixels, stored / 4095.0, atol=1e-6)


def test_metadata_is_read(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=4095).astype(np.uint16)
    ds = factories.mammo_dataset(stored)
    image = _open(factories.write_dicom(tmp_path / "meta.dcm", ds))

    meta = image.meta
    assert meta.laterality == "L"
    assert meta.view_position == "MLO"
    assert meta.sop_instance_uid == ds.SOPInstanceUID
    assert meta.photometric == "MONOCHROME2"
    assert (meta.width, meta.height, meta.bit_depth, meta.file_format) == (48, 32, 12, "DICOM")


def test_series_laterality_is_used_when_image_laterality_is_missing(tmp_path: Path) -> None:
    ds = factories.mammo_dataset(factories.gradient(maximum=4095).astype(np.uint16))
    del ds.ImageLaterality
    ds.Laterality = "R"
    image = _open(factories.write_dicom(tmp_path / "r.dcm", ds))

    assert image.meta.laterality == "R"


def test_dicom_without_preamble_or_suffix_opens(tmp_path: Path) -> None:
    stored = factories.gradient(maximum=4095).astype(np.uint16)
    ds = factories.mammo_dataset(stored)
    image = _open(factories.write_bare_dicom(tmp_path / "IM0001", ds))

    assert image.meta.file_format == "DICOM"
    np.testing.assert_allclose(image.pixels, stored / 4095.0, atol=1e-6)
