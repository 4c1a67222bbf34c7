"""Folders expand to the files worth opening; named files always pass through."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ImageDecodeError
from core.imaging import SUPPORTED_SUFFIXES, iter_image_paths, open_image
from tests.core.imaging.factories import LIMITS


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_are_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "study"
    expected = [
        _touch(root / "a.PNG"),
        _touch(root / "b" / "1.2.840.113619.2.55"),
        _touch(root / "b" / "IM0001"),
        _touch(root / "b" / "c" / "mdb001.pgm.gz"),
        _touch(root / "d.dcm"),
        _touch(root / "e.tiff"),
    ]
    _touch(root / "notes.txt")
    _touch(root / "archive.tar.gz")
    _touch(root / ".hidden.png")
    _touch(root / ".cache" / "f.png")

    assert list(iter_image_paths([root])) == expected


def test_named_files_pass_through_as_given(tmp_path: Path) -> None:
    notes = _touch(tmp_path / "notes.txt")
    hidden = _touch(tmp_path / ".hidden.png")
    missing = tmp_path / "gone.dcm"
    folder = tmp_path / "folder"
    inner = _touch(folder / "x.jpg")

    result = list(iter_image_paths([str(notes), hidden, missing, folder]))

    assert result == [notes, hidden, missing, inner]


def test_supported_suffixes_cover_plain_and_gzipped_forms() -> None:
    for suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pgm", ".dcm", ".dicom"):
        assert suffix in SUPPORTED_SUFFIXES
        assert f"{suffix}.gz" in SUPPORTED_SUFFIXES
    assert ".txt" not in SUPPORTED_SUFFIXES


def test_symbolic_link_loops_are_reported_one_by_one_and_the_walk_goes_on(
    tmp_path: Path,
) -> None:
    root = tmp_path / "study"
    first = _touch(root / "a" / "first.png")
    (root / "a" / "up").symlink_to("..")  # a link back to a folder that holds it
    (root / "b").symlink_to("c")  # two links pointing at each other
    (root / "c").symlink_to("b")
    (root / "self.dcm").symlink_to("self.dcm")
    last = _touch(root / "z" / "last.png")

    walked = list(iter_image_paths([root]))

    assert walked == [first, root / "a" / "up", root / "b", root / "c", root / "self.dcm", last]
    reasons = {}
    for path in walked[1:-1]:
        with pytest.raises(ImageDecodeError) as refused:
            open_image(path, **LIMITS)
        reasons[path.name] = refused.value.reason
    assert "symbolic link loop" in reasons["up"] and "folder that contains it" in reasons["up"]
    for name in ("b", "c", "self.dcm"):
        assert "symbolic link loop" in reasons[name]
