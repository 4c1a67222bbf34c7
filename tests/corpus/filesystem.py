"""Corpus kinds made by the file system rather than by a file's bytes: links, pipes, sockets,
a folder named like an image, mode 000, names that are not UTF-8."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from tests.corpus.raster import picture, png_bytes, write


def make_link_loop(folder: Path) -> Path:
    path = folder / "link-loop.png"
    path.symlink_to(path.name)
    return path


def make_link_to_own_folder(folder: Path) -> Path:
    """A link, inside the folder, to the folder itself: walking it would never end."""
    path = folder / "link-to-own-folder"
    path.symlink_to(".", target_is_directory=True)
    return path


def make_dangling_link(folder: Path) -> Path:
    path = folder / "dangling-link.png"
    path.symlink_to("nowhere-to-be-found.png")
    return path


def make_fifo(folder: Path) -> Path:
    """A named pipe called ``.png``: opening it would block until someone writes to it."""
    path = folder / "fifo.png"
    os.mkfifo(path)
    return path


def make_socket(folder: Path) -> Path:
    path = folder / "socket.dcm"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    return path


def make_folder_named_png(folder: Path) -> Path:
    """A folder called ``.png`` is a folder: walked, and the picture inside it read."""
    inner = folder / "folder-named.png"
    inner.mkdir()
    return write(inner / "inside.png", png_bytes(picture(seed=12)))


def make_unreadable(folder: Path) -> Path:
    """A valid picture with mode 000. The superuser reads it anyway (and it must then be
    scored); anyone else must get "permission denied". :func:`unreadable_expectation`."""
    path = write(folder / "mode-000.png", png_bytes(picture(seed=13)))
    path.chmod(0)
    return path


def make_non_utf8_name(folder: Path) -> Path:
    """A valid picture whose name is not valid UTF-8 (a Latin-1 export): read, and named."""
    return write(folder / os.fsdecode(b"caf\xe9-latin1.png"), png_bytes(picture(seed=14)))


def make_non_utf8_broken(folder: Path) -> Path:
    return write(folder / os.fsdecode(b"r\xe9sum\xe9-broken.png"), b"\x89PNG\r\n\x1a\n\x00")


def unreadable_expectation() -> Literal["read", "refused"]:
    """Mode 000 stops every user but the superuser, who reads it as any other file."""
    return "read" if os.geteuid() == 0 else "refused"
