"""The workstation's model versions from the server, in ``data_dir/models``.

::

    models/versions/<manifest sha256>/   complete, verified versions (the active one, the
                                          previous one kept for rollback, one ready to switch to)
    models/incoming/<manifest sha256>/   a download in progress (``*.part`` files resume)
    models/state.json                     which is active, previous, ready; refusals

A version is used only after :meth:`ModelLibrary.check`: its manifest is the one the server
named, signed by a trusted key, made for this app's preprocessing, and every file matches
its hash. The check runs again whenever a version is loaded, so a file changed on disk after
the download is refused too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from core.errors import ModelLoadError, ModelRefusalKind, ModelRefusedError
from core.inference.manifest import MANIFEST_NAME, ModelManifest, load_manifest
from core.inference.preprocess import PREPROCESSING_VERSION
from core.modelstore.signature import SIGNATURE_NAME, parse_signature, verify_signature

log = logging.getLogger(__name__)

STATE_NAME = "state.json"


@dataclass(frozen=True)
class Refusal:
    kind: str
    message: str
    at: str  # ISO 8601


@dataclass(frozen=True)
class LibraryState:
    """``active``: the version in use; ``previous``: the one before (kept for rollback);
    ``ready``: verified and waiting for an idle moment. Each a manifest SHA-256."""

    active: str | None = None
    previous: str | None = None
    ready: str | None = None
    refused: dict[str, Refusal] = field(default_factory=dict)
    reported: tuple[str, ...] = ()  # "<sha>:<outcome>" already told to the server

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LibraryState:
        return cls(
            active=data.get("active"), previous=data.get("previous"), ready=data.get("ready"),
            refused={k: Refusal(**v) for k, v in (data.get("refused") or {}).items()},
            reported=tuple(data.get("reported") or ()))


class ModelLibrary:
    """Model versions kept under ``root``, trusted when signed by one of ``trusted_keys``."""

    def __init__(self, root: Path, *, trusted_keys: Collection[str],
                 known_preprocessing: Collection[str] = (PREPROCESSING_VERSION,)) -> None:
        self.root = Path(root)
        self.trusted_keys = frozenset(trusted_keys)
        self.known_preprocessing = frozenset(known_preprocessing)
        # A sync pass (io pool) and a switch (inference pool) may change the state at once.
        self._lock = threading.RLock()

    # State -----------------------------------------------------------------------------

    def state(self) -> LibraryState:
        try:
            return LibraryState.from_json(json.loads((self.root / STATE_NAME).read_text()))
        except FileNotFoundError:
            return LibraryState()
        except (OSError, ValueError, TypeError) as exc:
            log.warning("Model library state unreadable (%s); starting afresh", exc)
            return LibraryState()

    def _save(self, state: LibraryState) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data = asdict(state)
        fd, temp = tempfile.mkstemp(dir=self.root, prefix=".state-")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
        os.replace(temp, self.root / STATE_NAME)

    # Folders ---------------------------------------------------------------------------

    def folder(self, sha256: str) -> Path:
        return self.root / "versions" / sha256

    def has(self, sha256: str) -> bool:
        return (self.folder(sha256) / MANIFEST_NAME).is_file()

    def incoming(self, sha256: str) -> Path:
        path = self.root / "incoming" / sha256
        path.mkdir(parents=True, exist_ok=True)
        return path

    def local_copy(self, file_sha256: str) -> Path | None:
        """A file with this hash in a version kept here (a recalibrated version shares its
        weights with the one it came from), or None."""
        versions = self.root / "versions"
        if not versions.is_dir():
            return None
        for folder in versions.iterdir():
            try:
                entries = json.loads((folder / MANIFEST_NAME).read_text())["files"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            for entry in entries:
                path = folder / str(entry.get("path", ""))
                if entry.get("sha256") == file_sha256 and path.is_file():
                    return path
        return None

    def discard_incoming(self, sha256: str) -> None:
        shutil.rmtree(self.root / "incoming" / sha256, ignore_errors=True)

    # Checks ----------------------------------------------------------------------------

    def check(self, folder: Path, *, expected_sha256: str | None = None) -> ModelManifest:
        """The version in ``folder``, verified: :meth:`check_signed`, then every file.

        Raises:
            ModelRefusedError: as :meth:`check_signed`, or a file missing or changed.
        """
        self.check_signed(folder, expected_sha256=expected_sha256)
        try:
            return load_manifest(folder, verify=True)
        except ModelLoadError as exc:
            raise ModelRefusedError(exc.message, kind=ModelRefusalKind.CHANGED_FILE) from exc

    def check_signed(self, folder: Path, *, expected_sha256: str | None = None
                     ) -> dict[str, Any]:
        """The manifest in ``folder`` (parsed), checked before any other file is fetched:
        the hash the server announced, a signature by a trusted key, a known preprocessing.

        Raises:
            ModelRefusedError: changed manifest, unsigned, bad signature, unknown key,
                unreadable manifest, or unknown preprocessing.
        """
        try:
            manifest_bytes = (folder / MANIFEST_NAME).read_bytes()
        except OSError as exc:
            raise ModelRefusedError(f"The model in {folder} has no readable manifest.",
                                    kind=ModelRefusalKind.UNREADABLE) from exc
        if expected_sha256 and hashlib.sha256(manifest_bytes).hexdigest() != expected_sha256:
            raise ModelRefusedError(
                "The model's manifest does not match the hash the server announced: it was "
                "changed. It will not be used; ask IT to check the model on the server.",
                kind=ModelRefusalKind.CHANGED_FILE)
        try:
            signature = (folder / SIGNATURE_NAME).read_bytes()
        except FileNotFoundError:
            signature = None
        verify_signature(manifest_bytes, parse_signature(signature),
                         trusted_keys=self.trusted_keys)
        try:
            data = json.loads(manifest_bytes)
            version = str(data["preprocessing_version"])
            paths = [PurePosixPath(str(entry["path"])) for entry in data["files"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelRefusedError("The model's manifest cannot be read.",
                                    kind=ModelRefusalKind.UNREADABLE) from exc
        if any(p.is_absolute() or ".." in p.parts for p in paths):
            raise ModelRefusedError("The model's manifest names a file outside its folder.",
                                    kind=ModelRefusalKind.UNREADABLE)
        if version not in self.known_preprocessing:
            raise ModelRefusedError(
                f"The model was made for image preprocessing {version!r}; this version of the "
                f"app does {', '.join(sorted(self.known_preprocessing))}. Update the app on "
                "this workstation first, or ask IT to approve a model made for it.",
                kind=ModelRefusalKind.UNKNOWN_PREPROCESSING)
        return data

    def usable_folder(self) -> Path | None:
        """The folder to load at start: the ready version if there is one (starting is an
        idle moment), else the active one; each checked, falling back to the previous
        version when the newer fails. None when the library holds nothing usable."""
        state = self.state()
        for sha in (state.ready, state.active, state.previous):
            if sha is None or not self.has(sha):
                continue
            try:
                self.check(self.folder(sha), expected_sha256=sha)
            except ModelRefusedError as exc:
                log.warning("Model version %s refused at start: %s", sha[:12], exc.message)
                self.refuse(sha, exc, now=None)
                continue
            if sha != state.active:
                self.activate(sha)
            return self.folder(sha)
        return None

    # Changes ---------------------------------------------------------------------------

    def install(self, sha256: str) -> Path:
        """Move the verified download of ``sha256`` into the versions and mark it ready."""
        target = self.folder(sha256)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root / "incoming" / sha256, target)
        self.mark_ready(sha256)
        return target

    def mark_ready(self, sha256: str) -> None:
        with self._lock:
            state = self.state()
            if state.active != sha256:
                self._save(replace(state, ready=sha256))

    def activate(self, sha256: str) -> None:
        """Switch to ``sha256``: the version active until now becomes the previous one (kept
        for rollback); any other version is deleted."""
        with self._lock:
            state = self.state()
            previous = state.active if state.active not in (None, sha256) else state.previous
            refused = {k: v for k, v in state.refused.items() if k != sha256}
            new = replace(state, active=sha256, previous=previous,
                          ready=None if state.ready == sha256 else state.ready, refused=refused)
            self._save(new)
            self._prune(keep={new.active, new.previous, new.ready})

    def refuse(self, sha256: str, error: ModelRefusedError, *, now: datetime | None) -> None:
        """Remember that ``sha256`` was refused (and stop offering it)."""
        with self._lock:
            state = self.state()
            refusal = Refusal(kind=str(error.kind), message=error.message,
                              at=now.isoformat() if now else "")
            changes: dict[str, Any] = {"refused": {**state.refused, sha256: refusal}}
            if state.ready == sha256:
                changes["ready"] = None
            if state.active == sha256:  # a version changed on disk after it was installed
                changes["active"], changes["previous"] = state.previous, None
            self._save(replace(state, **changes))

    def reported(self, sha256: str, outcome: str) -> bool:
        return f"{sha256}:{outcome}" in self.state().reported

    def mark_reported(self, sha256: str, outcome: str) -> None:
        with self._lock:
            state = self.state()
            self._save(replace(state, reported=(*state.reported[-50:], f"{sha256}:{outcome}")))

    def _prune(self, *, keep: set[str | None]) -> None:
        versions = self.root / "versions"
        if not versions.is_dir():
            return
        for child in versions.iterdir():
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
