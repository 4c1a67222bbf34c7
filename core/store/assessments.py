"""Signed per-breast assessments in the local store. Reached through :attr:`Store.assessments`.

Each reader's assessments of one breast of one exam form a chain: the first amends nothing,
each later one amends the latest and says why. Nothing is ever updated or deleted, so the
first read of a blinded reading stays next to what the reader signed after seeing the model.
Every method is one short transaction.

Assessments stay on this workstation: the server's wire schema (``core.contracts``) has no
place for a breast's BI-RADS category, density or marks yet, so they are not queued for sync.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import cast

from sqlalchemy import literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import StoreError
from core.store.records import (
    BIRADS_CATEGORIES,
    BREAST_SIDES,
    DENSITIES,
    LABELS,
    READING_MODES,
    AssessmentId,
    AssessmentRecord,
    BreastSide,
    FindingMark,
    Label,
    ModelOpinion,
    NewAssessment,
    ReadingMode,
    UserId,
)
from core.store.tables import BreastAssessment, FindingMarkRow, User

SessionFactory = Callable[..., AbstractContextManager[Session]]
MAX_NOTE = 4000
MAX_MARKS = 50


class AssessmentBook:
    """Signs and lists per-breast assessments. Built by :class:`core.store.Store`."""

    def __init__(self, session: SessionFactory, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def sign(self, news: Sequence[NewAssessment]) -> list[AssessmentRecord]:
        """Sign assessments (one per breast, say) in one transaction: all or none.

        One that says what the latest assessment of its breast already says (BI-RADS,
        density, marks, note, verdict on the model) signs nothing: saving an unchanged
        decision does nothing. Returns the assessments signed now, in the order given.

        Raises:
            StoreError: a category, density, side or mark that is not valid; an amendment
                without a reason or not of the latest assessment; a breast already assessed
                by this reader that the new one does not amend; an unknown user.
        """
        for new in news:
            _check(new)
        signed = []
        with self._session(write=True) as session:
            for new in news:
                user = session.get(User, new.user_id)
                if user is None:
                    raise StoreError("The assessment names a user that is not in the local "
                                     "store; it was not saved.")
                latest = _latest(session, exam_id=new.exam_id, side=new.side,
                                 user_id=new.user_id)
                if latest is not None and says_the_same(new, _to_record(session, latest,
                                                                         user.username)):
                    continue
                _check_chain(new, latest)
                row = BreastAssessment(
                    id=str(uuid.uuid4()), exam_id=new.exam_id, side=new.side, user_id=user.id,
                    birads=new.birads, density=new.density, note=new.note.strip(),
                    mode=new.mode, agrees_with_model=new.agrees_with_model,
                    model_id=new.model.model_id if new.model else None,
                    model_score=new.model.score if new.model else None,
                    model_label=new.model.label if new.model else None,
                    model_threshold=new.model.threshold if new.model else None,
                    signed_at=self._clock(), amends_id=new.amends_id,
                    amend_reason=new.amend_reason.strip())
                session.add(row)
                session.add_all(FindingMarkRow(assessment_id=row.id, image_path=m.image_path,
                                               x=float(m.x), y=float(m.y)) for m in new.marks)
                try:
                    session.flush()
                except IntegrityError as exc:
                    if "UNIQUE" in str(exc.orig):
                        raise StoreError("That assessment was amended meanwhile; amend the "
                                         "latest one.") from exc
                    raise
                signed.append(_to_record(session, row, user.username))
        return signed

    def history(self, exam_id: str, *, user_id: UserId) -> list[AssessmentRecord]:
        """Every assessment this reader signed on the exam, both breasts, oldest first."""
        with self._session() as session:
            rows = session.execute(
                select(BreastAssessment, User.username)
                .join(User, User.id == BreastAssessment.user_id)
                .where(BreastAssessment.exam_id == exam_id, BreastAssessment.user_id == user_id)
                .order_by(BreastAssessment.signed_at,
                          literal_column("breast_assessments.rowid")))
            return [_to_record(session, row, username) for row, username in rows]

    def latest(self, exam_id: str, *, user_id: UserId) -> dict[BreastSide, AssessmentRecord]:
        """This reader's current assessment of each breast of the exam (assessed ones only)."""
        current: dict[BreastSide, AssessmentRecord] = {}
        for record in self.history(exam_id, user_id=user_id):
            current[record.side] = record  # oldest first: the last one of a side is current
        return current


def _check(new: NewAssessment) -> None:
    if new.side not in BREAST_SIDES:
        raise StoreError(f"Unknown breast side '{new.side}'; use L or R.")
    if new.birads not in BIRADS_CATEGORIES:
        raise StoreError(f"BI-RADS must be one of {', '.join(BIRADS_CATEGORIES)}.")
    if new.density is not None and new.density not in DENSITIES:
        raise StoreError("Breast density must be an ACR category a, b, c or d.")
    if new.mode not in READING_MODES:
        raise StoreError(f"Unknown reading mode '{new.mode}'.")
    if (new.model is not None) != (new.mode == "with_model"):
        raise StoreError("The model's output is recorded exactly when it was shown.")
    if new.agrees_with_model is not None and new.model is None:
        raise StoreError("Agreeing with the model needs the model's output to have been shown.")
    if new.model is not None and new.model.label not in LABELS:
        raise StoreError(f"Unknown model class '{new.model.label}'.")
    if len(new.note) > MAX_NOTE or len(new.amend_reason) > MAX_NOTE:
        raise StoreError(f"A note or a reason can have at most {MAX_NOTE} characters.")
    if len(new.marks) > MAX_MARKS:
        raise StoreError(f"A breast can have at most {MAX_MARKS} marks.")
    for mark in new.marks:
        if not (math.isfinite(mark.x) and math.isfinite(mark.y) and mark.x >= 0 and mark.y >= 0):
            raise StoreError("A finding mark lies outside its image; it was not saved.")


def _check_chain(new: NewAssessment, latest: BreastAssessment | None) -> None:
    if latest is None:
        if new.amends_id is not None:
            raise StoreError("The assessment to amend is not in the local store.")
        return
    if new.amends_id is None:
        raise StoreError("This breast is already assessed; amend the latest assessment.")
    if new.amends_id != latest.id:
        raise StoreError("That assessment was amended meanwhile; amend the latest one.")
    if not new.amend_reason.strip():
        raise StoreError("An amendment needs its reason.")


def _latest(session: Session, *, exam_id: str, side: str, user_id: int
            ) -> BreastAssessment | None:
    return session.scalars(
        select(BreastAssessment)
        .where(BreastAssessment.exam_id == exam_id, BreastAssessment.side == side,
               BreastAssessment.user_id == user_id)
        .order_by(BreastAssessment.signed_at.desc(),
                  literal_column("breast_assessments.rowid").desc())
        .limit(1)).first()


def says_the_same(new: NewAssessment, latest: AssessmentRecord) -> bool:
    """Whether ``new`` says what ``latest`` says: BI-RADS, density, note, verdict on the model
    and marks (how it was signed, with or without the model, does not count)."""
    return ((new.birads, new.density, new.note.strip(), new.agrees_with_model,
             _mark_set(new.marks))
            == (latest.birads, latest.density, latest.note, latest.agrees_with_model,
                _mark_set(latest.marks)))


def _mark_set(marks: Sequence[FindingMark]) -> list[tuple[str, float, float]]:
    # Rounded: a mark read back from the store equals the one placed, whatever float noise.
    return sorted((m.image_path, round(m.x, 3), round(m.y, 3)) for m in marks)


def _to_record(session: Session, row: BreastAssessment, username: str) -> AssessmentRecord:
    marks = session.scalars(select(FindingMarkRow).where(FindingMarkRow.assessment_id == row.id)
                            .order_by(FindingMarkRow.id))
    model = None
    if row.model_id is not None:
        model = ModelOpinion(model_id=row.model_id, score=float(row.model_score or 0.0),
                             label=cast(Label, row.model_label),
                             threshold=float(row.model_threshold or 0.0))
    return AssessmentRecord(
        id=AssessmentId(row.id), exam_id=row.exam_id, side=cast(BreastSide, row.side),
        user_id=UserId(row.user_id), username=username, birads=row.birads,
        density=row.density,
        marks=tuple(FindingMark(image_path=m.image_path, x=m.x, y=m.y) for m in marks),
        note=row.note, mode=cast(ReadingMode, row.mode), model=model,
        agrees_with_model=row.agrees_with_model, signed_at=row.signed_at,
        amends_id=None if row.amends_id is None else AssessmentId(row.amends_id),
        amend_reason=row.amend_reason)
