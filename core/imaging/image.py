"""The decoded image and its metadata: what every other part of the product receives."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from core.errors import ImageDecodeError

FileFormat = Literal["PNG", "JPEG", "TIFF", "PGM", "DICOM"]


@dataclass(frozen=True)
class ImageMeta:
    """Facts about one input file, kept with every result computed from it.

    ``pixel_sha256`` identifies the picture rather than the file: the same stored pixels give
    the same hash whether they came as PNG, PGM or inside a gzip wrapper, so a reading can be
    matched to an image that was converted or renamed.
    """

    source_path: str
    pixel_sha256: str
    width: int
    height: int
    bit_depth: int
    file_format: FileFormat
    laterality: str | None = None
    view_position: str | None = None
    photometric: str | None = None
    sop_instance_uid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dictionary (strings, ints and ``None`` only)."""
        return asdict(self)


@dataclass(frozen=True)
class MammoImage:
    """A display-ready mammogram.

    ``pixels`` is a 2-D ``float32`` array in [0, 1] where 0 is black and 1 is white, after the
    DICOM modality and VOI transforms and the MONOCHROME1 inversion: every consumer (viewer,
    model) sees the image the way a radiologist would.
    """

    pixels: np.ndarray
    meta: ImageMeta


def pixel_sha256(stored: np.ndarray) -> str:
    """SHA-256 of the stored pixel values as decoded, in native byte order, before any LUT.

    The byte order is normalised so that a big-endian 16-bit PGM and a little-endian 16-bit
    PNG holding the same values hash alike.
    """
    native = stored.astype(stored.dtype.newbyteorder("="), copy=False)
    return hashlib.sha256(np.ascontiguousarray(native).tobytes()).hexdigest()


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Grey level of an ``(H, W, >=3)`` array with ITU-R BT.601 weights, as Pillow's ``L``.

    Any fourth (alpha) channel is ignored: a mammogram has no meaningful transparency.
    """
    channels = rgb[..., :3].astype(np.float64)
    return channels @ np.array([0.299, 0.587, 0.114])


def check_pixel_count(source_path: str, *, width: int, height: int, max_pixels: int) -> None:
    """Refuse an image whose header claims more pixels than allowed (decompression bombs)."""
    if width <= 0 or height <= 0:
        raise ImageDecodeError(
            source_path, f"the file is damaged (it claims a size of {width} x {height} pixels)"
        )
    if width * height > max_pixels:
        raise ImageDecodeError(
            source_path,
            f"image too large: {width} x {height} pixels exceeds the limit of {max_pixels:,}",
        )
