"""Outcomes of exams per breast, recorded by radiologists and admins on their workstations.

An outcome is stored under the id its workstation chose, so sending it again is harmless;
a correction is a new outcome of the same breast (the newest counts for the statistics).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.contracts import OutcomeCreate, OutcomePublic, OutcomesPublic
from server.db.models import Outcome, User
from server.errors import Conflict
from server.services import audit

FIELDS = ("exam_key", "breast", "outcome", "pixel_sha256s", "recorded_at", "note")


def to_public(outcome: Outcome) -> OutcomePublic:
    return OutcomePublic(
        id=outcome.id,
        recorded_by=outcome.user.username,
        received_at=outcome.received_at,
        **{f: getattr(outcome, f) for f in FIELDS},
    )


def put_outcome(
    session: Session, user: User, data: OutcomeCreate, *, now: datetime,
    client_addr: str | None = None,
) -> tuple[bool, Outcome]:
    """Store ``data``; returns (created, stored). The same outcome sent again is unchanged.

    Raises:
        Conflict: the id is taken by another outcome (different content or recorder).
    """
    values = {f: getattr(data, f) for f in FIELDS}
    inserted = session.execute(
        insert(Outcome)
        .values(id=data.id, user_id=user.id, received_at=now, **values)
        .on_conflict_do_nothing(index_elements=[Outcome.id])
        .returning(Outcome.id)
    ).scalar()
    stored = session.get(Outcome, data.id)
    assert stored is not None
    if inserted is None:
        same = stored.user_id == user.id and all(
            getattr(stored, f) == getattr(data, f) for f in FIELDS
        )
        if not same:
            raise Conflict("An outcome with this id is stored with other content.")
        return False, stored
    audit.record(
        session,
        action="outcome_write",
        now=now,
        actor=user,
        target=f"{data.exam_key}/{data.breast}",
        client_addr=client_addr,
        detail={"outcome": data.outcome, "id": str(data.id)},
    )
    session.commit()
    return True, stored


def latest_outcomes(session: Session) -> list[Outcome]:
    """The newest outcome of each breast (by the time it was recorded, then received)."""
    rows = session.scalars(
        select(Outcome).order_by(Outcome.recorded_at, Outcome.received_at, Outcome.id)
    )
    newest: dict[tuple[str, str], Outcome] = {}
    for row in rows:
        newest[(row.exam_key, row.breast)] = row
    return list(newest.values())


def list_outcomes(session: Session) -> OutcomesPublic:
    return OutcomesPublic(data=[to_public(o) for o in latest_outcomes(session)])
