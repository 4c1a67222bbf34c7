"""The content-addressed folder of model files: ``ROOT/sha256/ab/abcdef...``.

A file is stored under the SHA-256 of its bytes, checked while it is copied in, so a stored
file can never differ from its name and two versions that share their weights (a
recalibration) share the file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from server.errors import InvalidInput, NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class ModelFileStore:
    """Files by hash under ``root`` (the server setting ``model_store_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the file with this hash is (or would be).

        Raises:
            NotFound: not a SHA-256 in hex (never a path outside the store).
        """
        if not _SHA256.fullmatch(sha256):
            raise NotFound("No such model file.")
        return self.root / "sha256" / sha256[:2] / sha256

    def existing(self, sha256: str) -> Path:
        """Raises NotFound: no stored file has this hash."""
        path = self.path(sha256)
        if not path.is_file():
            raise NotFound("No such model file.")
        return path

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_file(self, source: Path, sha256: str) -> int:
        """Copy ``source`` in if its bytes hash to ``sha256``; returns its size.

        Raises:
            InvalidInput: the bytes do not match the hash (the file was changed).
        """
        with source.open("rb") as fh:
            return self._put(iter(lambda: fh.read(CHUNK), b""), sha256, name=source.name)

    def put_bytes(self, data: bytes, sha256: str, *, name: str) -> int:
        return self._put(iter([data]), sha256, name=name)

    def _put(self, chunks, sha256: str, *, name: str) -> int:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise InvalidInput(
                    f"The file {name} does not match the hash its manifest gives: it was "
                    "changed after the manifest was made. Nothing was stored."
                )
            os.chmod(temp, 0o444)
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return size
