"""Outcomes of exams per breast in the local store. Reached through :attr:`Store.outcomes`.

A radiologist or an admin records what became of a breast: biopsy malignant, biopsy benign, or
no cancer at follow-up. A correction is a new outcome (the newest counts); nothing is changed
in place except the note that the server holds it (``synced_at``). Every method is one short
transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import StoreError
from core.store.records import UserId
from core.store.tables import BreastOutcome, User

SessionFactory = Callable[..., AbstractContextManager[Session]]
OutcomeKind = Literal["malignant", "benign", "no_cancer"]
OUTCOMES: dict[OutcomeKind, str] = {
    "malignant": "Biopsy malignant",
    "benign": "Biopsy benign",
    "no_cancer": "No cancer at follow-up",
}


@dataclass(frozen=True)
class NewOutcome:
    """The outcome of breast ``side`` of exam ``exam_id``; ``pixel_sha256s`` are the
    breast's images (they link the outcome to the readings on the server)."""

    exam_id: str
    side: Literal["L", "R"]
    outcome: OutcomeKind
    pixel_sha256s: tuple[str, ...]
    user_id: UserId
    note: str = ""


@dataclass(frozen=True)
class OutcomeRecord:
    id: str
    exam_id: str
    side: Literal["L", "R"]
    outcome: OutcomeKind
    pixel_sha256s: tuple[str, ...]
    user_id: UserId
    username: str
    recorded_at: datetime
    note: str
    synced_at: datetime | None


class OutcomeBook:
    """Records and lists outcomes. Built by :class:`core.store.Store`."""

    def __init__(self, session: SessionFactory, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def record(self, news: Sequence[NewOutcome]) -> list[OutcomeRecord]:
        """Store ``news`` in one transaction.

        Raises:
            StoreError: an unknown outcome or side, no images, or an unknown user.
        """
        for new in news:
            if new.outcome not in OUTCOMES or new.side not in ("L", "R"):
                raise StoreError(f"Unknown outcome {new.outcome!r} of side {new.side!r}.")
            if not new.pixel_sha256s:
                raise StoreError("An outcome needs the breast's images; none were given.")
        now = self._clock()
        rows = []
        with self._session(write=True) as session:
            for new in news:
                if session.get(User, new.user_id) is None:
                    raise StoreError("The outcome names a user who is not in the local store.")
                row = BreastOutcome(
                    id=str(uuid.uuid4()), exam_id=new.exam_id, side=new.side,
                    outcome=new.outcome, pixel_sha256s=json.dumps(list(new.pixel_sha256s)),
                    user_id=new.user_id, recorded_at=now, note=new.note[:4000])
                session.add(row)
                rows.append(row)
            session.flush()
            return [_record(session, row) for row in rows]

    def latest(self, exam_id: str) -> dict[str, OutcomeRecord]:
        """The newest outcome of each breast of ``exam_id``, by side."""
        statement = (select(BreastOutcome).where(BreastOutcome.exam_id == exam_id)
                     .order_by(BreastOutcome.recorded_at))
        with self._session() as session:
            return {row.side: _record(session, row) for row in session.scalars(statement)}

    def unsynced(self, user_id: UserId) -> list[OutcomeRecord]:
        """``user_id``'s outcomes the server does not hold yet, oldest first."""
        statement = (select(BreastOutcome)
                     .where(BreastOutcome.user_id == user_id,
                            BreastOutcome.synced_at.is_(None))
                     .order_by(BreastOutcome.recorded_at))
        with self._session() as session:
            return [_record(session, row) for row in session.scalars(statement)]

    def mark_synced(self, outcome_ids: Sequence[str]) -> None:
        if not outcome_ids:
            return
        with self._session(write=True) as session:
            session.execute(update(BreastOutcome)
                            .where(BreastOutcome.id.in_(list(outcome_ids)))
                            .values(synced_at=self._clock()))


def _record(session: Session, row: BreastOutcome) -> OutcomeRecord:
    user = session.get(User, row.user_id)
    return OutcomeRecord(
        id=row.id, exam_id=row.exam_id, side=row.side,  # type: ignore[arg-type]
        outcome=row.outcome,  # type: ignore[arg-type]
        pixel_sha256s=tuple(json.loads(row.pixel_sha256s)), user_id=UserId(row.user_id),
        username=user.username if user is not None else "?", recorded_at=row.recorded_at,
        note=row.note, synced_at=row.synced_at)
