"""Bringing the approved model version to this workstation, on each sync pass.

Ask the server which version is approved; if it is not the one in use, fetch its manifest
(checked against the announced hash), check the signature and the preprocessing before
anything large is fetched, then fetch each file by hash, resuming a cut-off download, and
check every hash again. A verified version is marked *ready*; the program switches to it at
its next idle moment (:meth:`ModelRollout.switch_to_ready`). A version that fails a check is
refused with a message for the reader and IT, and reported to the server's audit log; the
version in use stays.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from core.contracts import ApprovedModelPublic, ModelReportCreate, ModelVersionPublic
from core.errors import ModelRefusalKind, ModelRefusedError
from core.inference.manifest import MANIFEST_NAME, OPTIONAL_ROLES, sha256_file
from core.modelstore.library import ModelLibrary
from core.modelstore.signature import SIGNATURE_NAME

log = logging.getLogger(__name__)

# Refusals found from the manifest alone are checked again on every pass (cheap, and IT may
# have added a key); one that needed the files waits this long before they are fetched again.
REFETCH_AFTER = timedelta(hours=1)
_CHEAP = {ModelRefusalKind.UNSIGNED, ModelRefusalKind.UNKNOWN_KEY,
          ModelRefusalKind.BAD_SIGNATURE, ModelRefusalKind.UNKNOWN_PREPROCESSING,
          ModelRefusalKind.UNREADABLE}

Status = Literal["none", "active", "ready", "downloading", "refused"]


class ModelServer(Protocol):
    """The server's model routes, as one logged-in account (see core.sync.models)."""

    def approved(self) -> ApprovedModelPublic: ...

    def download(self, sha256: str, dest: Path, *, cancel: threading.Event,
                 on_bytes: Callable[[int], None]) -> bool: ...

    def report(self, version_id: int, report: ModelReportCreate) -> None: ...


@dataclass(frozen=True)
class RolloutReport:
    """What one pass found: ``none`` approved; the approved one is ``active`` or ``ready``;
    a download was cancelled (``downloading``); or it was ``refused`` (``message`` says why).
    ``fetched_bytes`` came over the network in this pass; ``resumed_bytes`` were already
    here from a cut-off pass; ``reused_bytes`` were copied from a version kept here (a
    recalibration shares its weights)."""

    status: Status
    model_id: str | None = None
    manifest_sha256: str | None = None
    message: str | None = None
    refusal: ModelRefusalKind | None = None
    fetched_bytes: int = 0
    resumed_bytes: int = 0
    reused_bytes: int = 0


@dataclass
class _Tally:
    fetched: int = 0
    resumed: int = 0
    reused: int = 0
    total: int = 0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ModelRollout:
    """Keeps ``library`` up to date with the server's approved version."""

    def __init__(self, library: ModelLibrary, *, clock: Callable[[], datetime] = _utc_now,
                 refetch_after: timedelta = REFETCH_AFTER,
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        """``on_progress(bytes here, bytes of the version)`` is called as a download goes."""
        self.library = library
        self._clock = clock
        self._refetch_after = refetch_after
        self._on_progress = on_progress

    def update(self, server: ModelServer, cancel: threading.Event | None = None) -> RolloutReport:
        """One pass: learn the approved version, fetch and verify it if it is new.

        Raises:
            SyncError: the server could not be used (the download resumes next time).
        """
        cancel = cancel or threading.Event()
        version = server.approved().version
        if version is None:
            return RolloutReport(status="none")
        sha = version.manifest_sha256
        state = self.library.state()
        self._report_activation(server, version, active=state.active)
        if sha == state.active:
            return self._report("active", version)
        if sha == state.ready and self.library.has(sha):
            return self._report("ready", version)
        refusal = state.refused.get(sha)
        if refusal is not None and not self._retry_due(refusal.kind, refusal.at):
            return self._report("refused", version, message=refusal.message,
                                refusal=ModelRefusalKind(refusal.kind))
        tally = _Tally(total=version.size_bytes)
        try:
            if self.library.has(sha):  # an earlier version, kept: a rollback needs no download
                self.library.check(self.library.folder(sha), expected_sha256=sha)
                self.library.mark_ready(sha)
                return self._report("ready", version)
            if not self._download(server, version, cancel, tally):
                return self._report("downloading", version, tally=tally)
            self.library.check(self.library.incoming(sha), expected_sha256=sha)
        except ModelRefusedError as exc:
            return self._refuse(server, version, exc, tally)
        self.library.install(sha)
        log.info("Model %s (%s) downloaded and verified; switching when idle",
                 version.model_id, sha[:12])
        self._tell(server, version, "installed")
        return self._report("ready", version, tally=tally)

    def ready_folder(self) -> Path | None:
        """The verified version waiting for an idle moment, if any."""
        sha = self.library.state().ready
        return self.library.folder(sha) if sha and self.library.has(sha) else None

    def switch_to_ready(self, folder: Path) -> None:
        """The program now uses the version in ``folder`` (call after it loaded)."""
        self.library.activate(folder.name)

    def refuse_ready(self, folder: Path, error: ModelRefusedError) -> None:
        """The ready version could not be loaded; keep the one in use."""
        self.library.refuse(folder.name, error, now=self._clock())

    # Internals -------------------------------------------------------------------------

    def _download(self, server: ModelServer, version: ModelVersionPublic,
                  cancel: threading.Event, tally: _Tally) -> bool:
        sha = version.manifest_sha256
        folder = self.library.incoming(sha)
        if not self._fetch(server, sha, folder / MANIFEST_NAME, cancel, tally):
            return False
        (folder / SIGNATURE_NAME).write_text(version.signature.model_dump_json())
        manifest = self.library.check_signed(folder, expected_sha256=sha)
        held = {f.sha256 for f in version.files}
        for entry in manifest["files"]:
            if entry["sha256"] not in held:
                if entry.get("role") in OPTIONAL_ROLES:
                    continue
                raise ModelRefusedError(
                    f"The server does not hold the model file {entry['path']}; ask IT to "
                    "upload the model again.", kind=ModelRefusalKind.CHANGED_FILE)
            if not self._fetch(server, entry["sha256"], folder / entry["path"], cancel, tally):
                return False
        return True

    def _fetch(self, server: ModelServer, sha256: str, dest: Path, cancel: threading.Event,
               tally: _Tally) -> bool:
        if dest.is_file() and sha256_file(dest) == sha256:
            return True  # fetched by an earlier, cut-off pass
        part = dest.with_name(dest.name + ".part")
        part.parent.mkdir(parents=True, exist_ok=True)
        local = self.library.local_copy(sha256)
        if local is not None:
            shutil.copyfile(local, part)  # checked below like a download
            tally.reused += part.stat().st_size
        elif part.exists():
            tally.resumed += part.stat().st_size

        def counted(n: int) -> None:
            tally.fetched += n
            if self._on_progress is not None:
                self._on_progress(tally.fetched + tally.resumed, tally.total)

        if local is None and not server.download(sha256, part, cancel=cancel,
                                                 on_bytes=counted):
            return False
        if sha256_file(part) != sha256:
            part.unlink()
            raise ModelRefusedError(
                f"The model file {dest.name} from the server does not match the hash in its "
                "signed manifest: it was changed. The model will not be used; ask IT to check "
                "it on the server.", kind=ModelRefusalKind.CHANGED_FILE)
        os.replace(part, dest)
        return True

    def _refuse(self, server: ModelServer, version: ModelVersionPublic,
                error: ModelRefusedError, tally: _Tally) -> RolloutReport:
        sha = version.manifest_sha256
        log.warning("Model %s (%s) refused (%s): %s", version.model_id, sha[:12], error.kind,
                    error.message)
        if error.kind not in _CHEAP:
            self.library.discard_incoming(sha)
        self.library.refuse(sha, error, now=self._clock())
        self._tell(server, version, "refused", error)
        return self._report("refused", version, message=error.message, refusal=error.kind,
                            tally=tally)

    def _retry_due(self, kind: str, at: str) -> bool:
        if kind in {str(k) for k in _CHEAP} or not at:
            return True
        try:
            refused_at = datetime.fromisoformat(at)
        except ValueError:
            return True
        return self._clock() - refused_at >= self._refetch_after

    def _report_activation(self, server: ModelServer, version: ModelVersionPublic, *,
                           active: str | None) -> None:
        if active == version.manifest_sha256:
            self._tell(server, version, "activated")

    def _tell(self, server: ModelServer, version: ModelVersionPublic, outcome: str,
              error: ModelRefusedError | None = None) -> None:
        """Report once per version and outcome (the server's audit log needs no repeats)."""
        sha = version.manifest_sha256
        if self.library.reported(sha, outcome):
            return
        report = ModelReportCreate(
            outcome=outcome,  # type: ignore[arg-type]
            reason=None if error is None else str(error.kind),
            message=None if error is None else error.message[:4000],
        )
        server.report(version.id, report)
        self.library.mark_reported(sha, outcome)

    @staticmethod
    def _report(status: Status, version: ModelVersionPublic, *, message: str | None = None,
                refusal: ModelRefusalKind | None = None, tally: _Tally | None = None
                ) -> RolloutReport:
        tally = tally or _Tally()
        return RolloutReport(status=status, model_id=version.model_id,
                             manifest_sha256=version.manifest_sha256, message=message,
                             refusal=refusal, fetched_bytes=tally.fetched,
                             resumed_bytes=tally.resumed, reused_bytes=tally.reused)

