"""Every bad input gives exactly one ImageDecodeError naming the file and the reason."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.errors import ImageDecodeError
from core.imaging import open_image
from tests.core.imaging import factories
from tests.core.imaging.factories import LIMITS


def _refused(path: Path, **limits: int) -> ImageDecodeError:
    with pytest.raises(ImageDecodeError) as caught:
        open_image(path, **{**LIMITS, **limits})
    error = caught.value
    assert error.path == str(path.absolute())
    assert str(error).startswith(f"{path.name}: ")
    return error


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")

    assert _refused(path).reason == "the file is empty (0 bytes)"


def test_truncated_png(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, size=(200, 200), dtype=np.uint8)
    full = factories.write_png(tmp_path / "full.png", noise)
    error = _refused(factories.truncate(full, tmp_path / "cut.png"))

    assert error.reason == "the file is incomplete or damaged (truncated PNG)"
    assert error.__cause__ is not None


def test_truncated_jpeg(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, size=(200, 200), dtype=np.uint8)
    full = factories.write_jpeg(tmp_path / "full.jpg", noise)
    error = _refused(factories.truncate(full, tmp_path / "cut.jpg"))

    assert error.reason == "the file is incomplete or damaged (truncated JPEG)"
    assert error.__cause__ is not None


def test_truncated_gzip(tmp_path: Path) -> None:
    plain = factories.write_pgm(tmp_path / "a.pgm", factories.gradient(200, 200))
    packed = factories.gzip_file(plain, tmp_path / "a.pgm.gz")
    error = _refused(factories.truncate(packed, tmp_path / "cut.pgm.gz"))

    assert error.reason == "the file is incomplete or damaged (truncated or corrupt gzip)"


@pytest.mark.parametrize("name", ["notes.png", "report.dcm", "README"])
def test_text_file_with_an_image_name_is_not_an_image(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("Patient history: see attached report.\nBI-RADS 2\n", encoding="utf-8")

    assert _refused(path).reason == "not an image file (it contains text)"


def test_unknown_binary_format(tmp_path: Path) -> None:
    path = tmp_path / "scan.bmp"
    path.write_bytes(b"BM" + bytes(range(256)) * 4)

    assert _refused(path).reason == "not a supported image format"


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    ds = factories.mammo_dataset(None)
    error = _refused(factories.write_dicom(tmp_path / "nopix.dcm", ds))

    assert error.reason == "DICOM file has no pixel data"


def test_unsupported_transfer_syntax_is_named(tmp_path: Path) -> None:
    ds = factories.mammo_dataset(factories.gradient(maximum=4095).astype(np.uint16))
    factories.add_encapsulated(ds, "1.2.840.10008.1.2.4.100", [b"\x00\x00\x01\xb3" * 16])
    error = _refused(factories.write_dicom(tmp_path / "mpeg.dcm", ds))

    assert error.reason == (
        "DICOM transfer syntax MPEG2 Main Profile / Main Level (1.2.840.10008.1.2.4.100)"
        " is not supported"
    )
    assert isinstance(error.__cause__, NotImplementedError)


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    error = _refused(factories.write_png_bomb(tmp_path / "bomb.png"))

    assert error.reason == "image too large: 60000 x 60000 pixels exceeds the limit of 120,000,000"


def test_dicom_with_too_many_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    ds = factories.mammo_dataset(factories.gradient(maximum=4095).astype(np.uint16))
    error = _refused(factories.write_dicom(tmp_path / "big.dcm", ds), max_pixels=1000)

    assert error.reason == "image too large: 48 x 32 pixels exceeds the limit of 1,000"


def test_file_larger_than_the_limit(tmp_path: Path) -> None:
    path = factories.write_png(tmp_path / "a.png", factories.gradient())
    size = path.stat().st_size

    error = _refused(path, max_file_bytes=100)

    assert error.reason == f"file too large: {size:,} bytes exceeds the limit of 100 bytes"


def test_gzip_content_larger_than_the_limit(tmp_path: Path) -> None:
    plain = factories.write_pgm(tmp_path / "a.pgm", np.zeros((500, 500), dtype=np.uint8))
    packed = factories.gzip_file(plain, tmp_path / "a.pgm.gz")
    assert packed.stat().st_size < 10_000

    error = _refused(packed, max_file_bytes=10_000)

    assert error.reason == (
        "file too large: its uncompressed content exceeds the limit of 10,000 bytes"
    )


def test_missing_file(tmp_path: Path) -> None:
    error = _refused(tmp_path / "gone.dcm")

    assert error.reason == "file not found"
    assert isinstance(error.__cause__, FileNotFoundError)


def test_folder_is_not_an_image(tmp_path: Path) -> None:
    assert _refused(tmp_path).reason == "this is a folder, not an image file"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = factories.write_png(tmp_path / "locked.png", factories.gradient())
    path.chmod(0)
    if os.geteuid() == 0:
        # root reads anything: make the operating system's refusal happen for this one file
        import builtins

        real_open = builtins.open

        def refusing_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    try:
        assert _refused(path).reason == "permission denied"
    finally:
        path.chmod(0o600)
