"""Outbox queries: the queue of readings and decisions waiting for the server.

Rows are added by the Store in the same transaction as the reading or decision they carry
(see :mod:`core.store.queries`); these functions serve the sync client.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.store.records import OutboxEntity, OutboxEntry
from core.store.tables import Feedback, Outbox, Reading


def pending(session: Session, *, limit: int, now: datetime) -> list[OutboxEntry]:
    """Entries not yet sent and due now, oldest first (the server sees changes in order)."""
    rows = session.scalars(
        select(Outbox)
        .where(
            Outbox.done_at.is_(None),
            or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
        )
        .order_by(Outbox.id)
        .limit(max(limit, 0))
    )
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


def count_pending(session: Session) -> int:
    return session.scalar(select(func.count()).where(Outbox.done_at.is_(None))) or 0


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
