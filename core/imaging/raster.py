"""PNG, JPEG, TIFF and binary PGM decoding through Pillow.

The file's format is already known from its magic bytes, so the matching Pillow plugin class is
built directly instead of going through ``Image.open``: the plugin reads only the header, which
lets our own ``max_pixels`` limit be checked before any pixel is decoded, without touching
Pillow's process-wide ``MAX_IMAGE_PIXELS`` (the app decodes on several threads at once).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, PpmImagePlugin, TiffImagePlugin

from core.errors import ImageDecodeError
from core.imaging.image import (
    FileFormat,
    ImageMeta,
    IntensityScale,
    MammoImage,
    check_pixel_count,
    luminance,
    pixel_sha256,
)

_PLUGINS: dict[FileFormat, type[ImageFile.ImageFile]] = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
    "PGM": PpmImagePlugin.PpmImageFile,
}

_EIGHT_BIT_MODES = frozenset({"L", "LA", "RGB", "RGBA", "RGBX"})
_CONVERT_TO_RGB_MODES = frozenset({"P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "La", "RGBa"})
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def decode_raster(
    data: bytes, *, file_format: FileFormat, source_path: str, max_pixels: int
) -> MammoImage:
    """Decode a raster image held in memory into a :class:`MammoImage`.

    Raises
    ------
    ImageDecodeError
        The header claims more than ``max_pixels`` pixels, the data is truncated or damaged,
        or the pixel format cannot be shown as a greyscale mammogram.
    """
    plugin = _PLUGINS[file_format]
    try:
        image = plugin(io.BytesIO(data))
    except ValueError as exc:
        if "too large" in str(exc).lower():
            # Pillow's limit on compressed text chunks (a PNG text bomb), met before pixels.
            raise ImageDecodeError(
                source_path, f"the {file_format} file holds a text comment too large to read "
                "safely (a decompression bomb)"
            ) from exc
        raise ImageDecodeError(
            source_path, f"the file is incomplete or damaged (unreadable {file_format} header)"
        ) from exc
    except (SyntaxError, OSError) as exc:
        raise ImageDecodeError(
            source_path, f"the file is incomplete or damaged (unreadable {file_format} header)"
        ) from exc
    with image:
        width, height = image.size
        check_pixel_count(source_path, width=width, height=height, max_pixels=max_pixels)
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageDecodeError(
                source_path,
                f"image too large: {width} x {height} pixels exceeds the decoder's safety limit",
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            detail = "truncated" if "truncated" in str(exc).lower() else "corrupt"
            raise ImageDecodeError(
                source_path, f"the file is incomplete or damaged ({detail} {file_format})"
            ) from exc
        stored, bit_depth = _stored_array(image, source_path)
    grey = luminance(stored) if stored.ndim == 3 else stored.astype(np.float64)
    full_scale = 255.0 if bit_depth == 8 else 65535.0
    pixels = np.clip(grey / full_scale, 0.0, 1.0).astype(np.float32)
    meta = ImageMeta(
        source_path=source_path,
        pixel_sha256=pixel_sha256(stored),
        width=width,
        height=height,
        bit_depth=bit_depth,
        file_format=file_format,
    )
    return MammoImage(pixels=pixels, meta=meta, intensity=IntensityScale(
        at_black=0.0, at_white=full_scale, unit=f"{bit_depth}-bit grey level"))


def _stored_array(image: ImageFile.ImageFile, source_path: str) -> tuple[np.ndarray, int]:
    """The pixels as stored (grey, grey+alpha or colour) and their bit depth, 8 or 16.

    Palette and other colour models are expanded to RGB first: palette indices alone do not
    say what the picture looks like, so they cannot be hashed or shown.
    """
    mode = image.mode
    if mode in _EIGHT_BIT_MODES:
        return np.asarray(image), 8
    if mode in _CONVERT_TO_RGB_MODES:
        target = "L" if mode == "1" else "RGB"
        return np.asarray(image.convert(target)), 8
    if mode in _SIXTEEN_BIT_MODES:
        return np.asarray(image).astype(np.uint16), 16
    if mode == "I":
        # Pillow widens 16-bit PGM (and some 16-bit TIFF) to 32-bit integers.
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ImageDecodeError(
                source_path, "32-bit integer images are not supported (only 8 and 16 bit)"
            )
        return values.astype(np.uint16), 16
    if mode.startswith("F"):
        raise ImageDecodeError(
            source_path, "floating-point images are not supported (only 8 and 16 bit)"
        )
    raise ImageDecodeError(
        source_path, f"pixel format {mode} is not supported (only 8 and 16 bit grey or colour)"
    )
