"""An in-memory stand-in for the server's model routes, serving model folders by hash."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.contracts import (
    ApprovedModelPublic,
    ModelFilePublic,
    ModelReportCreate,
    ModelSignature,
    ModelVersionPublic,
)
from core.errors import SyncError, SyncErrorKind
from core.inference.manifest import MANIFEST_NAME
from server.services.model_signing import public_key_text


class FakeModelServer:
    """``publish`` a folder (signed with ``key``) and it becomes the approved version.
    ``cut_after`` bytes into the next download, the connection drops (a SyncError)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.version: ModelVersionPublic | None = None
        self.reports: list[tuple[int, ModelReportCreate]] = []
        self.requests: list[tuple[str, int]] = []  # (sha256, offset)
        self.cut_after: int | None = None
        self._next_id = 1

    def publish(self, folder: Path, key: Ed25519PrivateKey, *,
                signature: ModelSignature | None = None) -> ModelVersionPublic:
        manifest = (folder / MANIFEST_NAME).read_bytes()
        sha = hashlib.sha256(manifest).hexdigest()
        self.blobs[sha] = manifest
        files = []
        for entry in json.loads(manifest)["files"]:
            path = folder / entry["path"]
            if path.is_file():
                data = path.read_bytes()
                self.blobs[entry["sha256"]] = data
                files.append(ModelFilePublic(path=entry["path"], sha256=entry["sha256"],
                                             size=len(data)))
        signature = signature or ModelSignature(
            public_key=public_key_text(key.public_key()),
            signature=base64.b64encode(key.sign(manifest)).decode())
        self.version = ModelVersionPublic(
            id=self._next_id, model_id=json.loads(manifest)["id"], manifest_sha256=sha,
            preprocessing_version="x", signature=signature, files=files,
            size_bytes=sum(f.size for f in files) + len(manifest),
            uploaded_at=datetime.now(UTC), approved_at=datetime.now(UTC))
        self._next_id += 1
        return self.version

    def approved(self) -> ApprovedModelPublic:
        return ApprovedModelPublic(version=self.version)

    def download(self, sha256: str, dest: Path, *, cancel: threading.Event,
                 on_bytes: Callable[[int], None]) -> bool:
        offset = dest.stat().st_size if dest.exists() else 0
        self.requests.append((sha256, offset))
        data = self.blobs[sha256][offset:]
        if self.cut_after is not None:
            keep, self.cut_after = data[:self.cut_after], None
            with dest.open("ab") as fh:
                fh.write(keep)
            on_bytes(len(keep))
            raise SyncError("The connection to the server was lost.",
                            kind=SyncErrorKind.NETWORK)
        with dest.open("ab") as fh:
            fh.write(data)
        on_bytes(len(data))
        return True

    def report(self, version_id: int, report: ModelReportCreate) -> None:
        self.reports.append((version_id, report))
