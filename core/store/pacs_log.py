"""The PACS audit trail in the local store. Reached through :attr:`Store.pacs_log`.

One row per result object per attempt: sent to the PACS, refused by it (with the reason), or
saved to a folder. Rows are only appended, never changed: the trail says who sent what, where
and when, and whether the reader had signed it. Every method is one short transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import StoreError
from core.store.records import UserId
from core.store.tables import PacsSend, User

SessionFactory = Callable[..., AbstractContextManager[Session]]
SendKind = Literal["report", "capture"]
SendOutcome = Literal["sent", "failed", "saved"]
KINDS: tuple[SendKind, ...] = ("report", "capture")
OUTCOMES: tuple[SendOutcome, ...] = ("sent", "failed", "saved")


@dataclass(frozen=True)
class NewPacsSend:
    """One attempt to let one object leave: ``destination`` names the PACS (``AE at
    host:port``) or the folder; ``detail`` the refusal or error, if any."""

    user_id: UserId
    exam_id: str
    sop_instance_uid: str
    sop_class_uid: str
    kind: SendKind
    destination: str
    outcome: SendOutcome
    signed: bool
    path: str
    detail: str = ""


@dataclass(frozen=True)
class PacsSendRecord:
    id: int
    at: datetime
    user_id: UserId
    username: str
    exam_id: str
    sop_instance_uid: str
    sop_class_uid: str
    kind: SendKind
    destination: str
    outcome: SendOutcome
    signed: bool
    detail: str
    path: str


class PacsLog:
    """Appends to and reads the audit trail. Built by :class:`core.store.Store`."""

    def __init__(self, session: SessionFactory, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def record(self, entries: Sequence[NewPacsSend]) -> None:
        """Append ``entries`` in one transaction.

        Raises:
            StoreError: an unknown user, kind or outcome (nothing is written then).
        """
        for entry in entries:
            if entry.kind not in KINDS or entry.outcome not in OUTCOMES:
                raise StoreError(f"Unknown PACS audit entry ({entry.kind}, {entry.outcome}).")
        with self._session(write=True) as session:
            for entry in entries:
                if session.get(User, entry.user_id) is None:
                    raise StoreError("The PACS audit entry names a user who is not in the "
                                     "local store; nothing was written.")
                session.add(PacsSend(
                    at=self._clock(), user_id=entry.user_id, exam_id=entry.exam_id,
                    sop_instance_uid=entry.sop_instance_uid,
                    sop_class_uid=entry.sop_class_uid, kind=entry.kind,
                    destination=entry.destination, outcome=entry.outcome,
                    signed=entry.signed, detail=entry.detail[:4000],
                    path=os.fspath(entry.path)))

    def history(self, *, exam_id: str | None = None, limit: int = 1000
                ) -> list[PacsSendRecord]:
        """The newest entries first; of one exam with ``exam_id``."""
        statement = (select(PacsSend, User.username).join(User, User.id == PacsSend.user_id)
                     .order_by(PacsSend.id.desc()).limit(max(limit, 0)))
        if exam_id is not None:
            statement = statement.where(PacsSend.exam_id == exam_id)
        with self._session() as session:
            return [_record(row, username) for row, username in session.execute(statement)]

    def delivered(self, sop_instance_uids: Sequence[str], *, destination: str) -> set[str]:
        """Which of these objects ``destination`` has already accepted (or, for a folder,
        holds): those are not sent again."""
        if not sop_instance_uids:
            return set()
        statement = select(PacsSend.sop_instance_uid).where(
            PacsSend.sop_instance_uid.in_(list(sop_instance_uids)),
            PacsSend.destination == destination, PacsSend.outcome.in_(("sent", "saved")))
        with self._session() as session:
            return set(session.scalars(statement))


def _record(row: PacsSend, username: str) -> PacsSendRecord:
    return PacsSendRecord(
        id=row.id, at=row.at, user_id=UserId(row.user_id), username=username,
        exam_id=row.exam_id, sop_instance_uid=row.sop_instance_uid,
        sop_class_uid=row.sop_class_uid, kind=row.kind,  # type: ignore[arg-type]
        destination=row.destination, outcome=row.outcome,  # type: ignore[arg-type]
        signed=row.signed, detail=row.detail, path=row.path)
