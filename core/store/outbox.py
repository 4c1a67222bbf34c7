"""Outbox queries: the queue of readings and decisions waiting for the server.

Rows are added by the Store in the same transaction as the reading or decision they carry
(see :mod:`core.store.queries`); these functions serve the sync client.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.store.records import OutboxEntity, OutboxEntry
from core.store.tables import Feedback, Outbox, Reading


def pending(
    session: Session, *, limit: int, now: datetime, user_id: int | None = None
) -> list[OutboxEntry]:
    """Entries not yet sent and due now, oldest first (the server sees changes in order).

    With ``user_id``, only the entries whose reading or decision that user made.
    """
    query = select(Outbox).where(
        Outbox.done_at.is_(None),
        or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
    )
    if user_id is not None:
        query = query.where(owned_by(user_id))
    rows = session.scalars(query.order_by(Outbox.id).limit(max(limit, 0)))
    return [
        OutboxEntry(
            id=row.id,
            entity=cast(OutboxEntity, row.entity),
            entity_id=row.entity_id,
            payload=json.loads(row.payload),
            created_at=row.created_at,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
        )
        for row in rows
    ]


def count_pending(session: Session, *, user_id: int | None = None) -> int:
    query = select(func.count()).select_from(Outbox).where(Outbox.done_at.is_(None))
    if user_id is not None:
        query = query.where(owned_by(user_id))
    return session.scalar(query) or 0


def next_due(session: Session, *, user_id: int) -> datetime | None:
    """When the earliest entry of ``user_id`` that waits to be retried becomes due."""
    return session.scalar(
        select(func.min(Outbox.next_attempt_at)).where(Outbox.done_at.is_(None), owned_by(user_id))
    )


def held_back_error(session: Session, *, user_id: int) -> str | None:
    return session.scalar(
        select(Outbox.last_error)
        .where(Outbox.done_at.is_(None), Outbox.last_error.is_not(None), owned_by(user_id))
        .order_by(Outbox.id.desc())
        .limit(1)
    )


def owned_by(user_id: int) -> ColumnElement[bool]:
    """Outbox rows carrying a reading or a decision made by ``user_id``."""
    readings = select(Reading.id).where(Reading.id == Outbox.entity_id, Reading.user_id == user_id)
    decisions = select(Feedback.id).where(
        Feedback.id == Outbox.entity_id, Feedback.user_id == user_id
    )
    return or_(
        and_(Outbox.entity == "reading", readings.exists()),
        and_(Outbox.entity == "feedback", decisions.exists()),
    )


def mark_done(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    """Close the entries and mark the readings and decisions they carried as synced."""
    if not ids:
        return
    entries = session.execute(
        select(Outbox.entity, Outbox.entity_id).where(Outbox.id.in_(ids), Outbox.done_at.is_(None))
    ).all()
    session.execute(
        update(Outbox).where(Outbox.id.in_(ids), Outbox.done_at.is_(None)).values(done_at=now)
    )
    for table, entity in ((Reading, "reading"), (Feedback, "feedback")):
        entity_ids = [entity_id for kind, entity_id in entries if kind == entity]
        if entity_ids:
            session.execute(
                update(table).where(table.id.in_(entity_ids)).values(sync_state="synced")
            )


def mark_failed(
    session: Session, ids: Sequence[int], *, error: str, next_attempt_at: datetime
) -> None:
    """Count a failed attempt and hold the entries back until ``next_attempt_at``."""
    if not ids:
        return
    session.execute(
        update(Outbox)
        .where(Outbox.id.in_(ids), Outbox.done_at.is_(None))
        .values(attempts=Outbox.attempts + 1, last_error=error, next_attempt_at=next_attempt_at)
    )
