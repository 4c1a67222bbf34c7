"""Model versions: upload of a signed model folder, approval (and rollback), what the
workstations are told, and their reports.

Uploading checks the signature against the manifest and every file against its hash before
anything is stored; approving appends to ``model_approvals``, whose newest row names the
version every workstation switches to. Which signing keys to trust stays each workstation's
decision (its ``model_public_keys``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.contracts import (
    ApprovedModelPublic,
    ModelFilePublic,
    ModelReportCreate,
    ModelSignature,
    ModelVersionPublic,
)
from server.db.models import ModelApproval, ModelVersion, User
from server.errors import Conflict, InvalidInput, NotFound
from server.services import audit
from server.services.model_files import ModelFileStore
from server.services.model_signing import (
    MANIFEST_NAME,
    check_signature,
    read_signature,
)

# Files a manifest may list that a model folder may lack (only the TensorFlow engine reads it).
OPTIONAL_ROLES = frozenset({"keras"})
REQUIRED_KEYS = ("id", "files", "preprocessing_version")


@dataclass(frozen=True)
class VersionRow:
    """A version as ``mammo-server model list`` shows it."""

    version: ModelVersion
    approved: bool
    last_approved_at: datetime | None


def read_manifest(data: bytes, *, where: str) -> dict[str, Any]:
    """Raises InvalidInput: not a model manifest."""
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise InvalidInput(f"{where} is not JSON.") from exc
    if not isinstance(manifest, dict) or any(k not in manifest for k in REQUIRED_KEYS):
        needs = ", ".join(REQUIRED_KEYS)
        raise InvalidInput(f"{where} is not a model manifest (it needs {needs}).")
    for entry in manifest["files"]:
        _check_entry(entry, where=where)
    return manifest


def _check_entry(entry: Any, *, where: str) -> None:
    if not isinstance(entry, dict) or not {"path", "sha256", "role"} <= entry.keys():
        raise InvalidInput(f"{where} lists a file without path, sha256 and role.")
    path = PurePosixPath(str(entry["path"]))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"{where} lists a file outside the model folder: {entry['path']}.")


def upload(
    session: Session,
    files: ModelFileStore,
    folder: Path,
    *,
    now: datetime,
    actor: str,
    derived_from: int | None = None,
) -> ModelVersion:
    """Store a signed model folder as a new version (not approved).

    Raises:
        InvalidInput: unsigned, a signature that does not match, a file missing or changed.
        Conflict: this manifest is stored already (its version id is in the message).
    """
    folder = Path(folder)
    try:
        manifest_bytes = (folder / MANIFEST_NAME).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{folder} has no readable {MANIFEST_NAME}.") from exc
    manifest = read_manifest(manifest_bytes, where=str(folder / MANIFEST_NAME))
    signature = read_signature(folder)
    check_signature(manifest_bytes, signature)
    manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    existing = session.scalar(
        select(ModelVersion).where(ModelVersion.manifest_sha256 == manifest_sha256)
    )
    if existing is not None:
        raise Conflict(f"This model is stored already, as version {existing.id}.")
    stored: list[dict[str, Any]] = []
    for entry in manifest["files"]:
        source = folder / entry["path"]
        if not source.is_file():
            if entry["role"] in OPTIONAL_ROLES:
                continue
            raise InvalidInput(f"The model file {entry['path']} is missing from {folder}.")
        size = files.put_file(source, entry["sha256"])
        stored.append({"path": entry["path"], "sha256": entry["sha256"], "size": size})
    files.put_bytes(manifest_bytes, manifest_sha256, name=MANIFEST_NAME)
    if derived_from is None:
        derived_from = _recalibrated_from(session, manifest)
    version = ModelVersion(
        model_id=str(manifest["id"]),
        manifest_sha256=manifest_sha256,
        preprocessing_version=str(manifest["preprocessing_version"]),
        manifest=manifest,
        public_key=signature.public_key,
        signature=signature.signature,
        files=stored,
        size_bytes=len(manifest_bytes) + sum(f["size"] for f in stored),
        derived_from_id=derived_from,
        uploaded_at=now,
        uploaded_by=actor,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        action="model_upload",
        now=now,
        actor_username=actor,
        target=str(version.id),
        detail={"model_id": version.model_id, "manifest_sha256": manifest_sha256},
    )
    session.commit()
    return version


def _recalibrated_from(session: Session, manifest: dict[str, Any]) -> int | None:
    """The stored version a recalibrated manifest names as its origin, if it is stored."""
    origin = (manifest.get("recalibration") or {}).get("from") or {}
    stored = session.scalar(select(ModelVersion.id).where(
        ModelVersion.manifest_sha256 == str(origin.get("manifest_sha256", ""))))
    return stored


def get_version(session: Session, version_id: int) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"There is no model version {version_id}.")
    return version


def approve(session: Session, version_id: int, *, now: datetime, actor: str) -> ModelVersion:
    """Make ``version_id`` the version every workstation uses from its next sync.

    Raises:
        NotFound: no such version.
    """
    version = get_version(session, version_id)
    session.add(ModelApproval(version_id=version.id, approved_at=now, approved_by=actor))
    audit.record(
        session,
        action="model_approve",
        now=now,
        actor_username=actor,
        target=str(version.id),
        detail={"model_id": version.model_id, "manifest_sha256": version.manifest_sha256},
    )
    session.commit()
    return version


def roll_back(session: Session, *, now: datetime, actor: str) -> ModelVersion:
    """Approve again the version that was approved before the current one.

    Raises:
        InvalidInput: no earlier approved version to go back to.
    """
    current = current_approval(session)
    if current is None:
        raise InvalidInput("No model version is approved; there is nothing to roll back.")
    earlier = session.scalar(
        select(ModelApproval)
        .where(ModelApproval.id < current.id, ModelApproval.version_id != current.version_id)
        .order_by(ModelApproval.id.desc())
        .limit(1)
    )
    if earlier is None:
        raise InvalidInput(
            f"Version {current.version_id} is the only one ever approved; there is no earlier "
            "version to roll back to."
        )
    return approve(session, earlier.version_id, now=now, actor=actor)


def current_approval(session: Session) -> ModelApproval | None:
    return session.scalar(select(ModelApproval).order_by(ModelApproval.id.desc()).limit(1))


def list_versions(session: Session) -> list[VersionRow]:
    """Every version, newest first, with whether it is the approved one."""
    current = current_approval(session)
    last: dict[int, datetime] = {}
    for approval in session.scalars(select(ModelApproval).order_by(ModelApproval.id)):
        last[approval.version_id] = approval.approved_at
    versions = session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()))
    return [
        VersionRow(
            version=v,
            approved=current is not None and current.version_id == v.id,
            last_approved_at=last.get(v.id),
        )
        for v in versions
    ]


def to_public(version: ModelVersion, *, approved_at: datetime | None = None) -> ModelVersionPublic:
    return ModelVersionPublic(
        id=version.id,
        model_id=version.model_id,
        manifest_sha256=version.manifest_sha256,
        preprocessing_version=version.preprocessing_version,
        signature=ModelSignature(public_key=version.public_key, signature=version.signature),
        files=[ModelFilePublic(**f) for f in version.files],
        size_bytes=version.size_bytes,
        uploaded_at=version.uploaded_at,
        approved_at=approved_at,
    )


def approved_public(session: Session) -> ApprovedModelPublic:
    approval = current_approval(session)
    if approval is None:
        return ApprovedModelPublic(version=None)
    return ApprovedModelPublic(
        version=to_public(approval.version, approved_at=approval.approved_at)
    )


def record_report(
    session: Session,
    version_id: int,
    report: ModelReportCreate,
    *,
    user: User,
    now: datetime,
    client_addr: str | None,
) -> None:
    """A workstation installed, switched to, or refused a version: one audit event.

    Raises:
        NotFound: no such version.
    """
    version = get_version(session, version_id)
    audit.record(
        session,
        action=f"model_{report.outcome}",
        now=now,
        actor=user,
        target=str(version.id),
        client_addr=client_addr,
        detail={
            "model_id": version.model_id,
            "manifest_sha256": version.manifest_sha256,
            "reason": report.reason,
            "message": report.message,
        },
    )
    session.commit()
