"""Plain factory functions that write real image files for the imaging tests."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DIGITAL_MG_STORAGE = "1.2.840.10008.5.1.4.1.1.1.2"


def gradient(height: int = 32, width: int = 48, *, maximum: int = 255) -> np.ndarray:
    """A ramp whose values differ per pixel, so a wrong orientation or scale shows."""
    dtype = np.uint8 if maximum <= 255 else np.uint16
    ramp = np.linspace(0, maximum, num=height * width).reshape(height, width)
    return np.round(ramp).astype(dtype)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    """Grey (uint8 / uint16) or colour (H, W, 3|4 uint8) PNG."""
    Image.fromarray(pixels).save(path, format="PNG")
    return path


def write_palette_png(path: Path, indices: np.ndarray, palette: list[int]) -> Path:
    image = Image.fromarray(indices.astype(np.uint8), mode="L").convert("P")
    image.putpalette(palette)
    image.putdata(indices.astype(np.uint8).ravel().tolist())
    image.save(path, format="PNG")
    return path


def write_jpeg(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path, format="JPEG", quality=95)
    return path


def write_tiff(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path, format="TIFF")
    return path


def write_pgm(path: Path, pixels: np.ndarray) -> Path:
    """Binary PGM (P5) written by hand: 8 bit, or 16 bit big-endian as the format requires."""
    maxval = 255 if pixels.dtype == np.uint8 else 65535
    body = pixels.astype(">u2").tobytes() if maxval == 65535 else pixels.tobytes()
    header = f"P5\n{pixels.shape[1]} {pixels.shape[0]}\n{maxval}\n".encode("ascii")
    path.write_bytes(header + body)
    return path


def gzip_file(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


def truncate(source: Path, target: Path, *, keep_fraction: float = 0.5) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep_fraction)])
    return target


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def write_png_bomb(path: Path, *, width: int = 60000, height: int = 60000) -> Path:
    """A tiny, valid-looking PNG whose header claims an enormous 8-bit grey image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )
    return path


def mammo_dataset(
    pixels: np.ndarray | None,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    frames: int = 1,
) -> Dataset:
    """A digital-mammography dataset (Explicit VR Little Endian) holding ``pixels``.

    ``pixels`` is (rows, cols), (frames, rows, cols) or (rows, cols, 3) for RGB; ``None``
    leaves the pixel data out (but keeps the image size, as a broken export would).
    """
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = DIGITAL_MG_STORAGE
    ds.SOPClassUID = DIGITAL_MG_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Modality = "MG"
    ds.ImageLaterality = "L"
    ds.ViewPosition = "MLO"
    ds.PhotometricInterpretation = photometric
    colour = photometric == "RGB"
    shape = (1, 1) if pixels is None else pixels.shape[-3:-1] if colour else pixels.shape[-2:]
    ds.Rows, ds.Columns = int(shape[0]), int(shape[1])
    ds.SamplesPerPixel = 3 if colour else 1
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if colour or bits_stored <= 8 else 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    if pixels is not None:
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def add_voi_lut(ds: Dataset, lut: np.ndarray, *, first_mapped: int = 0) -> Dataset:
    """Attach a 16-bit VOI LUT Sequence item mapping ``first_mapped + i`` to ``lut[i]``."""
    item = Dataset()
    item.LUTDescriptor = [len(lut), first_mapped, 16]
    item.LUTData = [int(value) for value in lut]
    item["LUTDescriptor"].VR = "US"
    item["LUTData"].VR = "US"
    ds.VOILUTSequence = [item]
    return ds


def add_encapsulated(ds: Dataset, transfer_syntax: str, frames: list[bytes]) -> Dataset:
    """Claim ``transfer_syntax`` and store ``frames`` as encapsulated (compressed) pixel data."""
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    return ds


def write_dicom(path: Path, ds: Dataset) -> Path:
    """Write with the 128-byte preamble and ``DICM`` marker, as a modality would."""
    ds.save_as(path, enforce_file_format=True)
    return path


def write_bare_dicom(path: Path, ds: Dataset) -> Path:
    """Write only the data set (Implicit VR Little Endian), with no preamble and no file meta,
    as older archives and some exports do."""
    bare = Dataset(ds)  # copies the elements, not the file meta
    bare.save_as(path, implicit_vr=True, little_endian=True)
    return path


LIMITS: dict[str, int] = {"max_file_bytes": 64 * 1024 * 1024, "max_pixels": 120_000_000}
"""Limits used where a test is not about limits (the product's defaults for pixels)."""
