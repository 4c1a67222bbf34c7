"""The audit log (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.contracts import AuditPublic, Timestamp
from server.api.deps import AdminUser, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, error_responses
from server.api.params import Cursor, FilterText, FilterUser
from server.services import audit

router = APIRouter(prefix="/audit", tags=["audit"], responses=ANY_ROUTE_ERRORS)


@router.get("", responses=error_responses(401, 403))
def list_audit_events(
    admin: AdminUser,
    session: SessionDep,
    action: FilterText | None = None,
    actor: FilterUser | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor | None = None,
) -> AuditPublic:
    """Audit events, newest first."""
    return audit.list_events(
        session, limit=limit, cursor=cursor, action=action, actor=actor, since=since, until=until
    )
