"""``open_image``: the one entry point that turns a path into a :class:`MammoImage`.

It owns the safety limits and the error boundary: every problem with a file, whatever library
noticed it, leaves as exactly one :class:`ImageDecodeError` that names the file and says why in
words a radiologist can act on, with the original exception chained for the log.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import io
import os
import stat
import zlib
from pathlib import Path

from core.errors import ImageDecodeError
from core.imaging.dicom import decode_dicom
from core.imaging.image import FileFormat, MammoImage
from core.imaging.paths import is_link_loop
from core.imaging.raster import decode_raster

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_GZIP_MAGIC = b"\x1f\x8b"
_DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ""})
_SNIFF_BYTES = 4096

MIN_SIDE = 8
"""Fewest pixels a side of an image that is scored (the model's own minimum)."""
MAX_ASPECT = 10
"""Longest side of an image that is scored at most this many times its shortest (a mammogram
is about 1 : 1.3)."""

LINK_LOOP = ("a symbolic link loop (the link leads back to itself, directly or through other "
             "links); skipped")
LINK_LOOP_TO_FOLDER = ("a symbolic link loop (it leads back to a folder that contains it); "
                       "skipped, the folder itself is read once")


def ensure_mammogram_shape(image: MammoImage) -> None:
    """Refuse to score a picture no mammogram has the size or shape of (it may still be
    shown): a score for a 1 x 1 image or a 70,000 x 10 strip would mean nothing.

    Raises
    ------
    ImageDecodeError
        A side shorter than :data:`MIN_SIDE`, or one more than :data:`MAX_ASPECT` times the
        other.
    """
    width, height = image.meta.width, image.meta.height
    if min(width, height) < MIN_SIDE:
        raise ImageDecodeError(
            image.meta.source_path, f"the image is only {width} x {height} pixels, too small "
            f"to be a mammogram (at least {MIN_SIDE} pixels a side)"
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageDecodeError(
            image.meta.source_path, f"the image is {width} x {height} pixels, not the shape of "
            f"a mammogram (one side more than {MAX_ASPECT} times the other)"
        )


def open_image(path: str | Path, *, max_file_bytes: int, max_pixels: int) -> MammoImage:
    """Open a mammogram (PNG, JPEG, TIFF, binary PGM or DICOM, optionally gzipped).

    The format is recognised by content first and by suffix second, so a renamed file still
    opens and a text file named ``.png`` is refused as such.

    Parameters
    ----------
    path:
        The file to open.
    max_file_bytes:
        Largest file accepted, checked before reading; also bounds a gzip file's content.
    max_pixels:
        Largest ``width * height`` accepted, checked from the header before decoding pixels.

    Raises
    ------
    ImageDecodeError
        For any file that cannot be shown as a mammogram; the cause is chained.
    """
    source = os.path.abspath(path)
    try:
        data = _read_bounded(source, max_file_bytes=max_file_bytes)
        name = Path(source).name
        if data.startswith(_GZIP_MAGIC):
            data = _gunzip(data, source, max_file_bytes=max_file_bytes)
            name = name[:-3] if name.lower().endswith(".gz") else name
        return _decode(data, source_path=source, name=name, max_pixels=max_pixels)
    except ImageDecodeError:
        raise
    except MemoryError as exc:
        raise ImageDecodeError(source, "not enough memory to open this image") from exc
    except Exception as exc:
        # Boundary: a library failing in a way we did not foresee is still one clear error
        # per file, never a crash of the batch; the cause keeps the technical detail.
        raise ImageDecodeError(
            source, "the file cannot be read as an image (it may be damaged)"
        ) from exc


def _read_bounded(source: str, *, max_file_bytes: int) -> bytes:
    """Read the whole file, refusing it by its size before a single byte is read."""
    try:
        info = os.stat(source)
        if stat.S_ISDIR(info.st_mode):
            if is_link_loop(source):
                raise ImageDecodeError(source, LINK_LOOP_TO_FOLDER)
            raise ImageDecodeError(source, "this is a folder, not an image file")
        if not stat.S_ISREG(info.st_mode):
            raise ImageDecodeError(source, "not a regular file")
        if info.st_size == 0:
            raise ImageDecodeError(source, "the file is empty (0 bytes)")
        _check_size(source, size=info.st_size, max_file_bytes=max_file_bytes)
        with open(source, "rb") as handle:
            # +1: a file that grew after stat() is caught without reading all of it.
            data = handle.read(max_file_bytes + 1)
    except FileNotFoundError as exc:
        if os.path.islink(source):
            raise ImageDecodeError(
                source, "a broken symbolic link (the file it points to does not exist)"
            ) from exc
        raise ImageDecodeError(source, "file not found") from exc
    except PermissionError as exc:
        raise ImageDecodeError(source, "permission denied") from exc
    except IsADirectoryError as exc:
        raise ImageDecodeError(source, "this is a folder, not an image file") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageDecodeError(source, LINK_LOOP) from exc
        raise ImageDecodeError(
            source, f"the file could not be read ({exc.strerror or 'input/output error'})"
        ) from exc
    _check_size(source, size=len(data), max_file_bytes=max_file_bytes)
    if not data:
        raise ImageDecodeError(source, "the file is empty (0 bytes)")
    return data


def _check_size(source: str, *, size: int, max_file_bytes: int) -> None:
    if size > max_file_bytes:
        raise ImageDecodeError(
            source,
            f"file too large: {size:,} bytes exceeds the limit of {max_file_bytes:,} bytes",
        )


def _gunzip(data: bytes, source: str, *, max_file_bytes: int) -> bytes:
    """Decompress in memory, never beyond ``max_file_bytes`` (gzip bombs)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
            inner = archive.read(max_file_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImageDecodeError(
            source, "the file is incomplete or damaged (truncated or corrupt gzip)"
        ) from exc
    if len(inner) > max_file_bytes:
        raise ImageDecodeError(
            source,
            f"file too large: its uncompressed content exceeds the limit of {max_file_bytes:,}"
            " bytes",
        )
    if not inner:
        raise ImageDecodeError(source, "the file is empty (the gzip file holds 0 bytes)")
    return inner


def _decode(data: bytes, *, source_path: str, name: str, max_pixels: int) -> MammoImage:
    """Dispatch on magic bytes; fall back to the suffix only for preamble-less DICOM."""
    file_format = _sniff(data)
    if file_format == "DICOM":
        return decode_dicom(data, source_path=source_path, max_pixels=max_pixels, has_preamble=True)
    if file_format is not None:
        return decode_raster(
            data, file_format=file_format, source_path=source_path, max_pixels=max_pixels
        )
    if data[:1] == b"P" and data[1:2] in b"1234567fF" and data[2:3].isspace():
        raise ImageDecodeError(
            source_path, "not a supported image format (only binary PGM, P5, is supported)"
        )
    if _looks_like_text(data):
        raise ImageDecodeError(source_path, "not an image file (it contains text)")
    if _dicom_suffix(name):
        return decode_dicom(
            data, source_path=source_path, max_pixels=max_pixels, has_preamble=False
        )
    raise ImageDecodeError(source_path, "not a supported image format")


def _dicom_suffix(name: str) -> bool:
    """``.dcm``, ``.dicom`` or none; an all-digit "suffix" is part of a UID file name
    (``1.2.840.113619.2.55``), as the folder walk also takes it."""
    suffix = Path(name).suffix.lower()
    return suffix in _DICOM_SUFFIXES or suffix[1:].isdigit()


def _sniff(data: bytes) -> FileFormat | None:
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data[:4] in _TIFF_MAGICS:
        return "TIFF"
    if data[:2] == b"P5" and data[2:3].isspace():
        return "PGM"
    if data[128:132] == b"DICM":
        return "DICOM"
    return None


def _looks_like_text(data: bytes) -> bool:
    """UTF-8 (or ASCII) without NUL bytes in its first few kilobytes: a report, not pixels."""
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True
