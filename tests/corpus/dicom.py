"""Corpus kinds that are DICOM files: damaged, hostile, not a 2-D greyscale mammogram, or
valid but odd."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import BreastTomosynthesisImageStorage, CTImageStorage, UltrasoundImageStorage

from tests.core.imaging import factories
from tests.corpus.raster import picture, write


def mammo_dicom(*, seed: int = 0, height: int = 64, width: int = 48) -> Dataset:
    stored = (picture(height, width, seed=seed).astype(np.uint16) * 16).astype(np.uint16)
    return factories.mammo_dataset(stored)


def make_truncated_dicom(folder: Path) -> Path:
    path = factories.write_dicom(folder / "truncated.dcm", mammo_dicom(height=128, width=96))
    data = path.read_bytes()
    return write(path, data[: len(data) * 2 // 3])


def make_truncated_dicom_header(folder: Path) -> Path:
    """Cut inside the data set's header, before any pixel data."""
    path = factories.write_dicom(folder / "truncated-header.dcm", mammo_dicom())
    return write(path, path.read_bytes()[:300])


def make_dicom_preamble_only(folder: Path) -> Path:
    """The 128-byte preamble and the ``DICM`` marker, and nothing after them."""
    return write(folder / "preamble-only.dcm", b"\x00" * 128 + b"DICM")


def make_dicom_bomb(folder: Path) -> Path:
    ds = mammo_dicom()
    ds.Rows, ds.Columns = 65_535, 65_535
    return factories.write_dicom(folder / "bomb.dcm", ds)


def make_dicom_without_pixels(folder: Path) -> Path:
    return factories.write_dicom(folder / "no-pixels.dcm", factories.mammo_dataset(None))


def make_dicom_short_pixels(folder: Path) -> Path:
    """Pixel data shorter than Rows x Columns says (a well-formed file, a wrong export)."""
    ds = mammo_dicom()
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 4]
    return factories.write_dicom(folder / "short-pixels.dcm", ds)


def make_dicom_unsupported_syntax(folder: Path) -> Path:
    ds = mammo_dicom()
    factories.add_encapsulated(ds, "1.2.840.10008.1.2.4.100", [b"\x00\x00\x01\xb3" * 16])
    return factories.write_dicom(folder / "mpeg2-syntax.dcm", ds)


def make_dicom_private_syntax(folder: Path) -> Path:
    ds = mammo_dicom()
    factories.add_encapsulated(ds, "1.2.826.0.1.3680043.99.1", [b"\x12\x34" * 64])
    path = folder / "private-syntax.dcm"
    ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)
    return path


def make_dicom_short_voi_lut(folder: Path) -> Path:
    """A VOI LUT whose descriptor promises 4,096 entries and whose data holds 16."""
    ds = mammo_dicom()
    factories.add_voi_lut(ds, np.arange(16, dtype=np.uint16) * 4096)
    ds.VOILUTSequence[0].LUTDescriptor = [4096, 0, 16]
    return factories.write_dicom(folder / "short-voi-lut.dcm", ds)


def make_dicom_zero_window(folder: Path) -> Path:
    ds = mammo_dicom()
    ds.WindowCenter, ds.WindowWidth = 2048, 0
    return factories.write_dicom(folder / "zero-window.dcm", ds)


def make_dicom_nan_rescale(folder: Path) -> Path:
    ds = mammo_dicom()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns that NaN is no valid DS: the point
        ds.RescaleSlope, ds.RescaleIntercept = "NaN", "0"
    return factories.write_dicom(folder / "nan-rescale.dcm", ds)


def make_dicom_zero_rows(folder: Path) -> Path:
    ds = mammo_dicom()
    ds.Rows = 0
    return factories.write_dicom(folder / "zero-rows.dcm", ds)


def _three_frames() -> Dataset:
    frames = np.stack([picture(seed=i).astype(np.uint16) * 16 for i in range(3)])
    return factories.mammo_dataset(frames, frames=3)


def make_dicom_tomosynthesis(folder: Path) -> Path:
    ds = _three_frames()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = BreastTomosynthesisImageStorage
    return factories.write_dicom(folder / "tomosynthesis.dcm", ds)


def make_dicom_multiframe(folder: Path) -> Path:
    """Three frames under the digital mammography class: refused by its frame count."""
    return factories.write_dicom(folder / "multiframe.dcm", _three_frames())


def make_dicom_ct(folder: Path) -> Path:
    ds = mammo_dicom()
    ds.Modality = "CT"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    return factories.write_dicom(folder / "ct-slice.dcm", ds)


def make_dicom_ultrasound(folder: Path) -> Path:
    ds = mammo_dicom()
    ds.Modality = "US"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UltrasoundImageStorage
    return factories.write_dicom(folder / "ultrasound.dcm", ds)


def _colour_dicom(photometric: str) -> Dataset:
    rgb = np.stack([picture()] * 3, axis=-1)
    ds = factories.mammo_dataset(rgb, photometric="RGB", bits_stored=8)
    ds.PhotometricInterpretation = photometric
    return ds


def make_dicom_rgb(folder: Path) -> Path:
    return factories.write_dicom(folder / "rgb.dcm", _colour_dicom("RGB"))


def make_dicom_ybr(folder: Path) -> Path:
    return factories.write_dicom(folder / "ybr-full.dcm", _colour_dicom("YBR_FULL"))


def make_dicom_palette(folder: Path) -> Path:
    ds = factories.mammo_dataset(picture(), bits_stored=8)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData",
                (np.arange(256, dtype="<u2") * 257).tobytes())
    return factories.write_dicom(folder / "palette-colour.dcm", ds)


def make_dicom_for_processing(folder: Path) -> Path:
    ds = mammo_dicom()
    ds.PresentationIntentType = "FOR PROCESSING"
    return factories.write_dicom(folder / "for-processing.dcm", ds)


def make_dicom_monochrome1(folder: Path) -> Path:
    ds = mammo_dicom(seed=10)
    ds.PhotometricInterpretation = "MONOCHROME1"
    return factories.write_dicom(folder / "monochrome1.dcm", ds)


def make_dicom_without_preamble(folder: Path) -> Path:
    return factories.write_bare_dicom(folder / "no-preamble-1.2.840.99", mammo_dicom(seed=11))
