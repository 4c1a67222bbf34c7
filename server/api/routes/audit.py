"""The audit log (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from core.contracts import AuditPublic, ErrorPublic
from server.api.deps import AdminUser, SessionDep
from server.services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}})
def list_audit_events(
    admin: AdminUser,
    session: SessionDep,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> AuditPublic:
    """Audit events, newest first."""
    return audit.list_events(
        session, limit=limit, cursor=cursor, action=action, actor=actor, since=since, until=until
    )
