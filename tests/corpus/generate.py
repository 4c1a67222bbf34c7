"""The bad-inputs corpus: one small function per kind of file a workstation may be handed.

Every kind is made by code into a folder (nothing binary is committed), with the outcome the
product must give it: ``read`` (valid, however odd: scored like any mammogram) or ``refused``
(one clear line that names the file and says why; ``reason`` is a phrase that line must
contain, so a misleading message fails as surely as a traceback).

The corpus is meant to be read with :data:`LIMITS` (64 MiB per file, the product's pixel
limit): the bombs then cost a fraction of a second each. ``write_corpus`` writes every kind
into one folder (file names start with the kind's name); ``write_many_files`` writes the
10,000-file folder, which the tests and the bench read separately.

Run ``python -m tests.corpus.generate FOLDER`` to write the corpus for a look by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from tests.corpus import dicom, filesystem, raster
from tests.corpus.raster import picture, png_bytes, write

LIMITS: dict[str, int] = {"max_file_bytes": 64 * 1024 * 1024, "max_pixels": 120_000_000}
"""The limits the corpus is read with (``max_file_bytes`` lowered from the product's 512 MiB
so the bombs stay cheap; every kind holds at the default too)."""

Expect = Literal["read", "refused"]


@dataclass(frozen=True)
class Kind:
    """One kind of input: how to make it and what the product must do with it.

    ``make`` writes the input into a folder and returns the path that the product reports on
    (for a folder named like an image, the file inside it).
    """

    name: str
    make: Callable[[Path], Path]
    expect: Expect
    reason: str = ""


def kinds() -> tuple[Kind, ...]:
    """Every kind, with its expected outcome."""
    return _refused() + _read()


def _refused() -> tuple[Kind, ...]:
    def no(name: str, make: Callable[[Path], Path], reason: str) -> Kind:
        return Kind(name, make, "refused", reason)

    damaged, unsupported = "incomplete or damaged", "not a supported image format"
    is_text, loop = "not an image file (it contains text)", "symbolic link loop"
    return (
        no("empty", raster.make_empty, "the file is empty (0 bytes)"),
        no("truncated-png", raster.make_truncated_png, f"{damaged} (truncated PNG)"),
        no("truncated-jpeg", raster.make_truncated_jpeg, f"{damaged} (truncated JPEG)"),
        no("truncated-tiff", raster.make_truncated_tiff, f"{damaged} (truncated TIFF)"),
        no("truncated-dicom", dicom.make_truncated_dicom, damaged),
        no("truncated-dicom-header", dicom.make_truncated_dicom_header, "holds no image"),
        no("dicom-preamble-only", dicom.make_dicom_preamble_only, "holds no image"),
        no("text-renamed-jpg", raster.make_text_as_jpeg, is_text),
        no("huge-text", raster.make_huge_text, "file too large"),
        no("bad-magic-png", raster.make_bad_magic_png, unsupported),
        no("gif-renamed-png", raster.make_gif_named_png, unsupported),
        no("random-bytes-dcm", raster.make_random_binary_dcm, unsupported),
        no("ascii-pgm", raster.make_ascii_pgm, "only binary PGM"),
        no("png-bomb", raster.make_png_bomb, "image too large: 100000 x 100000"),
        no("jpeg-bomb", raster.make_jpeg_bomb, "image too large: 65500 x 65500"),
        no("gzip-bomb", raster.make_gzip_bomb, "uncompressed content exceeds the limit"),
        no("png-text-bomb", raster.make_png_text_bomb, "text comment too large"),
        no("dicom-bomb", dicom.make_dicom_bomb, "image too large: 65535 x 65535"),
        no("png-bad-crc", raster.make_png_bad_crc, damaged),
        no("png-zero-width", raster.make_png_zero_width, damaged),
        no("dicom-no-pixel-data", dicom.make_dicom_without_pixels, "no pixel data"),
        no("dicom-short-pixel-data", dicom.make_dicom_short_pixels, damaged),
        no("dicom-unsupported-syntax", dicom.make_dicom_unsupported_syntax,
           "transfer syntax MPEG2 Main Profile"),
        no("dicom-private-syntax", dicom.make_dicom_private_syntax,
           "transfer syntax 1.2.826.0.1.3680043.99.1"),
        no("dicom-short-voi-lut", dicom.make_dicom_short_voi_lut, "VOI LUT"),
        no("dicom-zero-window", dicom.make_dicom_zero_window, "window"),
        no("dicom-nan-rescale", dicom.make_dicom_nan_rescale, "rescale"),
        no("dicom-zero-rows", dicom.make_dicom_zero_rows, "claims a size of 48 x 0"),
        no("dicom-tomosynthesis", dicom.make_dicom_tomosynthesis, "not a 2-D mammogram"),
        no("dicom-multiframe", dicom.make_dicom_multiframe, "3 frames"),
        no("dicom-ct", dicom.make_dicom_ct, "a CT image (modality CT), not a mammogram"),
        no("dicom-ultrasound", dicom.make_dicom_ultrasound, "an ultrasound image"),
        no("dicom-rgb", dicom.make_dicom_rgb, "photometric interpretation RGB"),
        no("dicom-ybr", dicom.make_dicom_ybr, "photometric interpretation YBR_FULL"),
        no("dicom-palette", dicom.make_dicom_palette, "interpretation PALETTE COLOR"),
        no("dicom-for-processing", dicom.make_dicom_for_processing, "for processing"),
        no("one-pixel", raster.make_one_pixel, "1 x 1 pixels, too small"),
        no("sliver-70000x10", raster.make_sliver, "not the shape of a mammogram"),
        no("float-tiff-nan", raster.make_float_tiff, "floating-point"),
        no("int32-tiff-negative", raster.make_int32_tiff, "32-bit integer"),
        no("gzipped-text", raster.make_gzipped_text, is_text),
        no("gzipped-nothing", raster.make_gzipped_nothing, "holds 0 bytes"),
        no("link-loop", filesystem.make_link_loop, loop),
        no("link-to-own-folder", filesystem.make_link_to_own_folder, loop),
        no("dangling-link", filesystem.make_dangling_link, "broken symbolic link"),
        no("fifo", filesystem.make_fifo, "not a regular file"),
        no("socket", filesystem.make_socket, "not a regular file"),
        no("non-utf8-broken", filesystem.make_non_utf8_broken, damaged),
    )


def _read() -> tuple[Kind, ...]:
    return (
        Kind("png-16bit", raster.make_png_16bit, "read"),
        Kind("pgm-16bit", raster.make_pgm_16bit, "read"),
        Kind("cmyk-jpeg", raster.make_cmyk_jpeg, "read"),
        Kind("palette-png-alpha", raster.make_palette_png_with_alpha, "read"),
        Kind("one-bit-png", raster.make_one_bit_png, "read"),
        Kind("jpeg-renamed-png", raster.make_jpeg_named_png, "read"),
        Kind("dicom-monochrome1", dicom.make_dicom_monochrome1, "read"),
        Kind("dicom-no-preamble", dicom.make_dicom_without_preamble, "read"),
        Kind("folder-named-png", filesystem.make_folder_named_png, "read"),
        Kind("non-utf8-name", filesystem.make_non_utf8_name, "read"),
        # Read by the superuser (as the tests run in CI), refused for anyone else.
        Kind("mode-000", filesystem.make_unreadable, filesystem.unreadable_expectation(),
             "permission denied"),
    )


def write_corpus(folder: Path) -> dict[str, Path]:
    """Write every kind into ``folder`` (created); the path each kind is reported under."""
    folder.mkdir(parents=True, exist_ok=True)
    return {kind.name: kind.make(folder) for kind in kinds()}


def write_valid(folder: Path, count: int, *, first: int = 100) -> list[Path]:
    """``count`` ordinary, valid mammogram-like PNGs, each a different picture."""
    folder.mkdir(parents=True, exist_ok=True)
    return [write(folder / f"valid-{i:03d}.png", png_bytes(picture(seed=i)))
            for i in range(first, first + count)]


def write_many_files(folder: Path, count: int = 10_000, *, valid_every: int = 50
                     ) -> tuple[int, int]:
    """``count`` tiny files in one folder: every ``valid_every``-th a valid 8 x 8 PGM (each a
    different picture), the rest empty, text or cut short. Returns (valid, broken)."""
    folder.mkdir(parents=True, exist_ok=True)
    broken_kinds = (b"", b"not an image\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0\x00")
    valid = 0
    for i in range(count):
        if i % valid_every == 0:
            pixels = np.full((8, 8), 60, dtype=np.uint8)
            pixels[0, :2] = i % 256, i // 256  # a different picture per file
            data = b"P5\n8 8\n255\n" + pixels.tobytes()
            valid += 1
        else:
            data = broken_kinds[i % len(broken_kinds)]
        (folder / f"f{i:05d}.pgm").write_bytes(data)
    return valid, count - valid


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.corpus.generate FOLDER", file=sys.stderr)
        return 2
    for name, path in write_corpus(Path(args[0])).items():
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
