"""Sending the outcomes recorded on this workstation to the server, after the readings.

Each outcome goes once, under the id it was given here (sending it again is harmless); one the
server refuses as invalid stays queued and is logged, the others go on.
"""

from __future__ import annotations

import hashlib
import logging
import threading

from pydantic import ValidationError

from core.contracts import OutcomeCreate
from core.store import Store, UserId
from core.store.outcomes import OutcomeRecord
from core.sync.client import ApiClient, RequestRejected
from core.sync.session import ServerSession

log = logging.getLogger(__name__)

MAX_EXAM_KEY = 128


def exam_key(exam_id: str) -> str:
    """The exam as the server knows it: its id (a DICOM study UID for DICOM exams), or for an
    id the wire cannot carry (a long folder path) its SHA-256."""
    if len(exam_id) <= MAX_EXAM_KEY and exam_id.isprintable():
        return exam_id
    return "sha256:" + hashlib.sha256(exam_id.encode("utf-8", "surrogateescape")).hexdigest()


def to_outcome_create(record: OutcomeRecord) -> OutcomeCreate:
    return OutcomeCreate(
        id=record.id, exam_key=exam_key(record.exam_id), breast=record.side,
        outcome=record.outcome, pixel_sha256s=list(record.pixel_sha256s),
        recorded_at=record.recorded_at, note=record.note or None)


def push_outcomes(*, store: Store, client: ApiClient, session: ServerSession, user_id: UserId,
                  cancel: threading.Event) -> int:
    """Send ``user_id``'s queued outcomes; returns how many the server now holds.

    Raises:
        SyncError: the server cannot be used (what was sent stays marked as sent).
    """
    sent: list[str] = []
    try:
        for record in store.outcomes.unsynced(user_id):
            if cancel.is_set():
                break
            try:
                body = to_outcome_create(record)
                session.call(lambda token, body=body: client.put_outcome(token, body))
            except (RequestRejected, ValidationError) as exc:
                log.warning("Outcome %s held back: %s", record.id, exc)
                continue
            sent.append(record.id)
    finally:
        store.outcomes.mark_synced(sent)
    return len(sent)
