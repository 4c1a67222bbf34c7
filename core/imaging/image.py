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

    The fields after ``sop_instance_uid`` come from a DICOM file only (None for other formats)
    and say which exam the image belongs to (``core.exams`` groups by ``study_instance_uid``).
    ``view_position`` is the file's ViewPosition, else the view its ViewCodeSequence names;
    dates are ISO ``YYYY-MM-DD`` where the file's date is valid, else as the file wrote them;
    ``patient_name`` keeps DICOM's ``Family^Given`` form.
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
    study_instance_uid: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    birth_date: str | None = None
    study_date: str | None = None
    accession_number: str | None = None
    manufacturer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dictionary (strings, ints and ``None`` only)."""
        return asdict(self)


@dataclass(frozen=True)
class IntensityScale:
    """What ``MammoImage.pixels`` stand for in the file's own values, so that a viewer can
    state window and level in units the radiologist knows: DICOM values after the modality
    transform, or a PNG's stored grey levels.

    A pixel ``p`` in [0, 1] stands for ``at_black + p * (at_white - at_black)``. For a DICOM
    image shown through its own window these are the window's ends (the file's window is then
    the whole [0, 1]); for MONOCHROME1, ``at_black`` is the larger value.
    """

    at_black: float
    at_white: float
    unit: str

    def value_of(self, fraction: float) -> float:
        """The file's value at ``fraction`` of the way from black to white."""
        return self.at_black + fraction * (self.at_white - self.at_black)

    def span_of(self, fraction: float) -> float:
        """How many of the file's units ``fraction`` of the black-to-white range covers."""
        return abs(fraction * (self.at_white - self.at_black))


@dataclass(frozen=True)
class MammoImage:
    """A display-ready mammogram.

    ``pixels`` is a 2-D ``float32`` array in [0, 1] where 0 is black and 1 is white, after the
    DICOM modality and VOI transforms and the MONOCHROME1 inversion: every consumer (viewer,
    model) sees the image the way a radiologist would. ``intensity`` maps the pixels back to
    the file's own values; None where no linear map exists (a VOI LUT, a sigmoid window).
    """

    pixels: np.ndarray
    meta: ImageMeta
    intensity: IntensityScale | None = None


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
