"""Which files a folder holds that may be mammograms."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

_PLAIN_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pgm", ".dcm", ".dicom")

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    _PLAIN_SUFFIXES + tuple(f"{suffix}.gz" for suffix in _PLAIN_SUFFIXES)
)
"""Lower-case file name endings picked up when a folder is walked (files without a suffix too:
DICOM files often have none)."""


def iter_image_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and folders into the files to open, in a stable order.

    Files named explicitly pass through unchanged, whatever their suffix, and so do paths that
    do not exist: the user asked for them, so each must get its own result or error line.
    Folders are walked recursively in sorted order, keeping files with a supported suffix or
    none (also what only looks like a file: a broken link, a named pipe, so that each gets its
    error), and skipping hidden files and folders (names starting with ``.``). A symbolic link
    loop (a link to itself, or to a folder that contains it) is yielded as it is, never
    followed, so that opening it gives that one path its own error and the walk goes on;
    named explicitly too, so that expanding what was expanded gives the same paths (the app
    expands a folder to list its rows, then reads those rows).
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not is_link_loop(path):
            yield from _walk(path, ancestors=frozenset())
        else:
            yield path


def is_link_loop(path: str | Path) -> bool:
    """Whether ``path`` leads back to a folder it lies in (a symbolic link loop)."""
    try:
        target = _identity(path)
    except OSError:
        return False
    for parent in Path(os.path.abspath(path)).parents:
        try:
            if _identity(parent) == target:
                return True
        except OSError:
            continue
    return False


def _walk(folder: Path, *, ancestors: frozenset[tuple[int, int]]) -> Iterator[Path]:
    try:
        ancestors = ancestors | {_identity(folder)}
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        # Yielded so that open_image reports it ("permission denied") instead of the folder
        # silently contributing nothing.
        yield folder
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            if is_dir and _identity(path) in ancestors:
                yield path  # a link back to a folder being walked: walking it never ends
                continue
        except OSError:
            # A link to itself (ELOOP) or one that vanished: open_image says which.
            yield path
            continue
        if is_dir:
            yield from _walk(path, ancestors=ancestors)
        elif _is_candidate(entry.name):
            # Also a broken link, a named pipe or a socket named like an image: open_image
            # refuses it by name (without opening it), where skipping it would hide it.
            yield path


def _identity(path: str | Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _is_candidate(name: str) -> bool:
    """Supported suffix, or none at all. DICOM files are often named by their UID
    (``1.2.840.113619.2.55``): an all-digit "suffix" is part of the name, not a file type."""
    suffixes = [suffix.lower() for suffix in Path(name).suffixes]
    if not suffixes or suffixes[-1][1:].isdigit():
        return True
    if suffixes[-1] == ".gz":
        return len(suffixes) >= 2 and f"{suffixes[-2]}.gz" in SUPPORTED_SUFFIXES
    return suffixes[-1] in SUPPORTED_SUFFIXES
