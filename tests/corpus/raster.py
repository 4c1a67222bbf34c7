"""Corpus kinds that are raster files (PNG, JPEG, TIFF, PGM, gzip) or no image at all, and the
small picture every valid kind is made from."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests.core.imaging import factories


def picture(height: int = 96, width: int = 64, *, seed: int = 0) -> np.ndarray:
    """A small 8-bit grey picture: a bright breast-like area on a dark background."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.where(xx < width * 0.6, 90.0, 10.0)
    image += 120 * np.exp(-((xx - width * 0.3) ** 2 + (yy - height * 0.5) ** 2) / 60.0)
    image += seed % 50
    image[0, :2] = seed % 256, seed // 256 % 256  # a different picture (pixel hash) per seed
    return np.clip(image, 0, 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", **options)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def make_empty(folder: Path) -> Path:
    return write(folder / "empty.png", b"")


def make_truncated_png(folder: Path) -> Path:
    noise = np.random.default_rng(1).integers(0, 256, size=(128, 128), dtype=np.uint8)
    data = png_bytes(noise)
    return write(folder / "truncated.png", data[: len(data) // 2])


def make_truncated_jpeg(folder: Path) -> Path:
    noise = np.random.default_rng(2).integers(0, 256, size=(128, 128), dtype=np.uint8)
    data = jpeg_bytes(Image.fromarray(noise))
    return write(folder / "truncated.jpg", data[: len(data) // 2])


def make_text_as_jpeg(folder: Path) -> Path:
    return write(folder / "text-renamed.jpg", b"Referral letter\nPlease read the attached.\n")


def make_huge_text(folder: Path) -> Path:
    """A 600 MiB file (sparse: a few bytes on disk) starting with text: refused by its size
    before a byte is read, at the product's 512 MiB default as at the corpus's limit."""
    path = folder / "huge-text.png"
    with open(path, "wb") as handle:
        handle.write(b"Patient history, pasted many times over.\n")
        handle.truncate(600 * 1024 * 1024)
    return path


def make_bad_magic_png(folder: Path) -> Path:
    data = bytearray(png_bytes(picture()))
    data[1:4] = b"XYZ"
    return write(folder / "bad-magic.png", bytes(data))


def make_gif_named_png(folder: Path) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(picture()).save(buffer, format="GIF")
    return write(folder / "gif-renamed.png", buffer.getvalue())


def make_random_binary_dcm(folder: Path) -> Path:
    noise = np.random.default_rng(3).integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    return write(folder / "random-bytes.dcm", b"\x00" + noise)


def make_ascii_pgm(folder: Path) -> Path:
    return write(folder / "ascii.pgm", b"P2\n2 2\n255\n0 255\n255 0\n")


def make_png_bomb(folder: Path) -> Path:
    return factories.write_png_bomb(folder / "bomb.png", width=100_000, height=100_000)


def make_jpeg_bomb(folder: Path) -> Path:
    """A small JPEG whose frame header (SOF0) claims 65,500 x 65,500 pixels."""
    data = bytearray(jpeg_bytes(Image.fromarray(picture(16, 16))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65_500, 65_500)
    return write(folder / "bomb.jpg", bytes(data))


def make_gzip_bomb(folder: Path) -> Path:
    """A 1 GiB PGM of zeros in a small .pgm.gz: gzip members of 1 MiB each, concatenated."""
    header = b"P5\n32768 32768\n255\n"
    member = gzip.compress(b"\x00" * (1024 * 1024), compresslevel=9)
    return write(folder / "bomb.pgm.gz", gzip.compress(header) + member * 1024)


def make_png_text_bomb(folder: Path) -> Path:
    """A valid PNG with a compressed text chunk that inflates to 64 MiB."""
    data = png_bytes(picture())
    text = chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b" " * (64 * 1024 * 1024), 9))
    end_of_ihdr = 8 + 25
    return write(folder / "text-bomb.png", data[:end_of_ihdr] + text + data[end_of_ihdr:])


def make_png_bad_crc(folder: Path) -> Path:
    data = bytearray(png_bytes(picture()))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    return write(folder / "bad-crc.png", bytes(data))


def make_png_zero_width(folder: Path) -> Path:
    header = struct.pack(">IIBBBBB", 0, 64, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    data += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return write(folder / "zero-width.png", data)


def make_one_pixel(folder: Path) -> Path:
    return write(folder / "one-pixel.png", png_bytes(np.full((1, 1), 128, dtype=np.uint8)))


def make_sliver(folder: Path) -> Path:
    """70,000 x 10 pixels: within every size limit, but no picture of a breast."""
    return write(folder / "sliver-70000x10.png", png_bytes(np.full((10, 70_000), 100,
                                                                      dtype=np.uint8)))


def make_float_tiff(folder: Path) -> Path:
    values = np.linspace(-1.0, 1.0, 64 * 48, dtype=np.float32).reshape(64, 48)
    values[0, :] = np.nan
    buffer = io.BytesIO()
    Image.fromarray(values, mode="F").save(buffer, format="TIFF")
    return write(folder / "float-nan.tif", buffer.getvalue())


def make_int32_tiff(folder: Path) -> Path:
    values = np.linspace(-70_000, 70_000, 64 * 48).astype(np.int32).reshape(64, 48)
    buffer = io.BytesIO()
    Image.fromarray(values, mode="I").save(buffer, format="TIFF")
    return write(folder / "int32-negative.tif", buffer.getvalue())


def make_truncated_tiff(folder: Path) -> Path:
    buffer = io.BytesIO()
    noise = np.random.default_rng(4).integers(0, 65535, size=(128, 96), dtype=np.uint16)
    Image.fromarray(noise).save(buffer, format="TIFF")
    data = buffer.getvalue()
    return write(folder / "truncated.tif", data[: len(data) // 2])


def make_png_16bit(folder: Path) -> Path:
    values = picture().astype(np.uint16) * 257
    return factories.write_png(folder / "sixteen-bit.png", values)


def make_pgm_16bit(folder: Path) -> Path:
    return factories.write_pgm(folder / "sixteen-bit.pgm", picture(seed=5).astype(np.uint16) * 200)


def make_cmyk_jpeg(folder: Path) -> Path:
    image = Image.fromarray(picture(seed=6)).convert("CMYK")
    return write(folder / "cmyk.jpg", jpeg_bytes(image))


def make_palette_png_with_alpha(folder: Path) -> Path:
    image = Image.fromarray(picture(seed=7)).convert("P")
    buffer = io.BytesIO()
    # Palette entries 0-7 fully transparent (a tRNS chunk), the rest opaque.
    image.save(buffer, format="PNG", transparency=bytes([0] * 8 + [255] * 248))
    return write(folder / "palette-alpha.png", buffer.getvalue())


def make_one_bit_png(folder: Path) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(picture(seed=8) > 60).save(buffer, format="PNG")
    return write(folder / "one-bit.png", buffer.getvalue())


def make_jpeg_named_png(folder: Path) -> Path:
    return write(folder / "jpeg-renamed.png", jpeg_bytes(Image.fromarray(picture(seed=9))))


def make_gzipped_text(folder: Path) -> Path:
    return write(folder / "gzipped-text.pgm.gz", gzip.compress(b"not an image, a note\n"))


def make_gzipped_nothing(folder: Path) -> Path:
    return write(folder / "gzipped-nothing.pgm.gz", gzip.compress(b""))
