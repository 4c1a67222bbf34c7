"""Queries and row conversions shared by the Store's methods (private to ``core.store``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from core.store.records import (
    IDENTITY_FIELDS,
    DecisionSnapshot,
    FeedbackId,
    FeedbackRecord,
    FeedbackSummary,
    ImageId,
    ImageIdentity,
    Label,
    ReadingId,
    ReadingRecord,
    Role,
    SyncState,
    UserId,
    UserRecord,
)
from core.store.tables import Feedback, Image, Outbox, Reading, User

_LatestFeedback = aliased(Feedback, name="latest_feedback")


def _latest_feedback_id() -> Any:
    """Correlated subquery: the id of the newest feedback signed on the outer reading."""
    return (
        select(Feedback.id)
        .where(Feedback.reading_id == Reading.id)
        .order_by(Feedback.signed_at.desc(), literal_column("reader_feedback.rowid").desc())
        .limit(1)
        .correlate(Reading)
        .scalar_subquery()
    )


def reading_select(*conditions: ColumnElement[bool]) -> Select[Any]:
    """Readings with their image, user and latest feedback, newest first."""
    return (
        select(Reading, Image, User.username, _LatestFeedback)
        .join(Image, Image.id == Reading.image_id)
        .join(User, User.id == Reading.user_id)
        .outerjoin(_LatestFeedback, _LatestFeedback.id == _latest_feedback_id())
        .where(*conditions)
        .order_by(Reading.created_at.desc(), literal_column("readings.rowid").desc())
    )


def reading_filters(
    *,
    user_id: UserId | None,
    label: Label | None,
    since: datetime | None,
    text: str | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if user_id is not None:
        conditions.append(Reading.user_id == user_id)
    if label is not None:
        conditions.append(Reading.label == label)
    if since is not None:
        conditions.append(Reading.created_at >= since)
    if text is not None and text.strip():
        needle = text.strip()
        conditions.append(
            or_(
                Image.source_path.icontains(needle, autoescape=True),
                Image.sop_instance_uid.icontains(needle, autoescape=True),
                Image.patient_id.icontains(needle, autoescape=True),
                Image.patient_name.icontains(needle, autoescape=True),
                Image.accession_number.icontains(needle, autoescape=True),
                User.username.icontains(needle, autoescape=True),
                User.display_name.icontains(needle, autoescape=True),
            )
        )
    return conditions


def to_reading_record(
    reading: Reading,
    image: Image,
    username: str,
    feedback: Feedback | None,
) -> ReadingRecord:
    return ReadingRecord(
        id=ReadingId(reading.id),
        image_id=ImageId(reading.image_id),
        user_id=UserId(reading.user_id),
        score=reading.score,
        label=cast(Label, reading.label),
        threshold=reading.threshold,
        model_id=reading.model_id,
        model_sha256=reading.model_sha256,
        engine=reading.engine,
        device=reading.device,
        preprocessing_version=reading.preprocessing_version,
        app_version=reading.app_version,
        heatmap_peak_x=reading.heatmap_peak_x,
        heatmap_peak_y=reading.heatmap_peak_y,
        created_at=reading.created_at,
        sync_state=cast(SyncState, reading.sync_state),
        source_path=image.source_path,
        pixel_sha256=image.pixel_sha256,
        username=username,
        feedback=None if feedback is None else _summary(feedback),
        rescore_of=None if reading.rescore_of is None else ReadingId(reading.rescore_of),
        identity=ImageIdentity(
            laterality=image.laterality,
            view_position=image.view_position,
            **{name: getattr(image, name) for name in IDENTITY_FIELDS},
        ),
    )


def _summary(feedback: Feedback) -> FeedbackSummary:
    return FeedbackSummary(
        id=FeedbackId(feedback.id),
        user_id=UserId(feedback.user_id),
        agrees_with_model=feedback.agrees_with_model,
        birads=feedback.birads,
        note=feedback.note,
        signed_at=feedback.signed_at,
    )


def feedback_select(*conditions: ColumnElement[bool]) -> Select[Any]:
    """Feedback with its author's username, oldest first."""
    return (
        select(Feedback, User.username)
        .join(User, User.id == Feedback.user_id)
        .where(*conditions)
        .order_by(Feedback.signed_at, literal_column("reader_feedback.rowid"))
    )


def to_feedback_record(feedback: Feedback, username: str) -> FeedbackRecord:
    return FeedbackRecord(
        id=FeedbackId(feedback.id),
        reading_id=ReadingId(feedback.reading_id),
        user_id=UserId(feedback.user_id),
        username=username,
        agrees_with_model=feedback.agrees_with_model,
        birads=feedback.birads,
        note=feedback.note,
        signed_at=feedback.signed_at,
        amends_id=None if feedback.amends_id is None else FeedbackId(feedback.amends_id),
        sync_state=cast(SyncState, feedback.sync_state),
    )


def to_user_record(user: User) -> UserRecord:
    return UserRecord(
        id=UserId(user.id),
        username=user.username,
        display_name=user.display_name,
        role=cast(Role, user.role),
        has_password=user.password_hash is not None,
        server_user_id=user.server_user_id,
        created_at=user.created_at,
    )


def find_user(session: Session, username: str) -> User | None:
    # The column's NOCASE collation makes this lookup case-insensitive.
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def enqueue_reading(session: Session, reading: Reading, image: Image, user: User) -> None:
    """Queue ``reading`` for the server. The source path stays local: it may name a patient."""
    _enqueue(
        session, "reading", reading.id, reading_payload(reading, image, user), reading.created_at
    )


def reading_payload(reading: Reading, image: Image, user: User) -> dict[str, Any]:
    """The outbox payload of a reading (also what the sync client maps for a decision)."""
    return {
        "id": reading.id,
        "image": {
            "pixel_sha256": image.pixel_sha256,
            "sop_instance_uid": image.sop_instance_uid,
            "width": image.width,
            "height": image.height,
            "bit_depth": image.bit_depth,
            "file_format": image.file_format,
            "laterality": image.laterality,
            "view_position": image.view_position,
            "photometric": image.photometric,
        },
        "username": user.username,
        "server_user_id": user.server_user_id,
        "score": reading.score,
        "label": reading.label,
        "threshold": reading.threshold,
        "model_id": reading.model_id,
        "model_sha256": reading.model_sha256,
        "engine": reading.engine,
        "device": reading.device,
        "preprocessing_version": reading.preprocessing_version,
        "app_version": reading.app_version,
        "heatmap_peak_x": reading.heatmap_peak_x,
        "heatmap_peak_y": reading.heatmap_peak_y,
        "created_at": reading.created_at.isoformat(),
    }


def enqueue_feedback(session: Session, feedback: Feedback, user: User) -> None:
    payload = {
        "id": feedback.id,
        "reading_id": feedback.reading_id,
        "username": user.username,
        "server_user_id": user.server_user_id,
        "agrees_with_model": feedback.agrees_with_model,
        "birads": feedback.birads,
        "note": feedback.note,
        "signed_at": feedback.signed_at.isoformat(),
        "amends_id": feedback.amends_id,
    }
    _enqueue(session, "feedback", feedback.id, payload, feedback.signed_at)


def _enqueue(
    session: Session, entity: str, entity_id: str, payload: dict[str, Any], now: datetime
) -> None:
    session.add(
        Outbox(
            entity=entity,
            entity_id=entity_id,
            payload=json.dumps(payload, sort_keys=True),
            created_at=now,
            attempts=0,
        )
    )


def decisions(session: Session, *conditions: Any) -> list[DecisionSnapshot]:
    rows = session.scalars(
        select(Feedback)
        .where(*conditions)
        .order_by(Feedback.signed_at, literal_column("reader_feedback.rowid"))
    )
    return [
        DecisionSnapshot(
            id=FeedbackId(f.id),
            reading_id=ReadingId(f.reading_id),
            user_id=UserId(f.user_id),
            agrees_with_model=f.agrees_with_model,
            birads=f.birads,
            note=f.note,
            signed_at=f.signed_at,
            amends_id=None if f.amends_id is None else FeedbackId(f.amends_id),
        )
        for f in rows
    ]


def root_decisions(session: Session, reading_ids: Iterable[str]) -> dict[str, DecisionSnapshot]:
    """For each reading, its reader's earliest decision that amends nothing (the signature)."""
    ids = set(reading_ids)
    if not ids:
        return {}
    found: dict[str, DecisionSnapshot] = {}
    for decision in decisions(
        session,
        Feedback.reading_id.in_(ids),
        Feedback.amends_id.is_(None),
        Feedback.user_id
        == select(Reading.user_id).where(Reading.id == Feedback.reading_id).scalar_subquery(),
    ):
        found.setdefault(decision.reading_id, decision)
    return found
