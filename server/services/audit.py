"""The append-only audit log: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.contracts import AuditEventPublic, AuditPublic
from server.db.models import AuditEvent, User
from server.errors import InvalidInput


def record(
    session: Session,
    *,
    action: str,
    now: datetime,
    actor: User | None = None,
    actor_username: str | None = None,
    target: str | None = None,
    client_addr: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one event to the session; it is written with the caller's commit."""
    session.add(
        AuditEvent(
            at=now,
            actor_user_id=actor.id if actor is not None else None,
            actor_username=actor.username if actor is not None else actor_username,
            action=action,
            target=target,
            client_addr=client_addr,
            detail=detail,
        )
    )


def list_events(
    session: Session,
    *,
    limit: int,
    cursor: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPublic:
    """Events newest first; ``cursor`` is the ``next_cursor`` of the previous page."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidInput("The cursor is not valid.")
        query = query.where(AuditEvent.id < int(cursor))
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if actor is not None:
        query = query.where(AuditEvent.actor_username == actor)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    rows = list(session.scalars(query))
    page = rows[:limit]
    return AuditPublic(
        data=[
            AuditEventPublic(
                id=e.id,
                at=e.at,
                actor=e.actor_username,
                action=e.action,
                target=e.target,
                client_addr=e.client_addr,
                detail=e.detail,
            )
            for e in page
        ],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )
