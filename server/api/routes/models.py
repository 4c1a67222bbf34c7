"""Model roll-out: the approved version, its files by hash (resumable), workstations'
reports. Versions are uploaded and approved by IT with ``mammo-server model ...``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from core.contracts import ApprovedModelPublic, ModelReportCreate
from server.api.deps import ClientAddr, Context, CurrentUser, Now, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, BODY_ERRORS, error_responses
from server.services import model_versions
from server.services.model_files import ModelFileStore

router = APIRouter(prefix="/models", tags=["models"], responses=ANY_ROUTE_ERRORS)


@router.get("/approved", responses=error_responses(401))
def read_approved(user: CurrentUser, session: SessionDep) -> ApprovedModelPublic:
    """The version IT approved for every workstation, or none yet."""
    return model_versions.approved_public(session)


@router.get(
    "/files/{sha256}",
    response_class=FileResponse,
    responses={**error_responses(401, 404),
               206: {"description": "The range asked for."},
               416: {"description": "The range starts past the end of the file."}},
)
def read_file(sha256: str, user: CurrentUser, context: Context) -> FileResponse:
    """A model file (or a manifest) by its SHA-256. Honours ``Range: bytes=N-`` so that a
    cut-off download resumes where it stopped."""
    path = ModelFileStore(context.settings.model_store_dir).existing(sha256)
    return FileResponse(path, media_type="application/octet-stream")


@router.post(
    "/{version_id}/reports",
    status_code=204,
    responses={**BODY_ERRORS, **error_responses(401, 404)},
)
def post_report(
    version_id: int,
    body: ModelReportCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
) -> Response:
    """A workstation installed, switched to or refused a version (kept in the audit log)."""
    model_versions.record_report(session, version_id, body, user=user, now=now, client_addr=client)
    return Response(status_code=204)
