"""Readings: idempotent upload, visibility rules and cursor pagination."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.contracts import (
    ImageMeta,
    ReadingCreate,
    ReadingPublic,
    ReadingsPublic,
)
from server.db.models import Image, Reading, User
from server.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from server.services import audit

WriteStatus = Literal["created", "updated", "unchanged"]

# What a reader may still change on a reading that is not signed yet.
DECISION_FIELDS = ("agrees_with_model", "birads", "note", "signed_at")
IMAGE_FIELDS = tuple(ImageMeta.model_fields)
MODEL_FIELDS = tuple(f for f in ReadingCreate.model_fields if f not in {"id", "image"})


@dataclass(frozen=True)
class ReadingFilters:
    since: datetime | None = None
    until: datetime | None = None
    label: str | None = None
    model_id: str | None = None
    user: str | None = None
    changed_since: datetime | None = None


def to_create(reading: Reading) -> ReadingCreate:
    image = ImageMeta(**{f: getattr(reading.image, f) for f in IMAGE_FIELDS})
    return ReadingCreate(
        id=reading.id, image=image, **{f: getattr(reading, f) for f in MODEL_FIELDS}
    )


def to_public(reading: Reading) -> ReadingPublic:
    base = to_create(reading).model_dump()
    return ReadingPublic(**base, reader=reading.user.username, received_at=reading.received_at)


def put_reading(
    session: Session, user: User, data: ReadingCreate, *, now: datetime
) -> tuple[WriteStatus, ReadingPublic]:
    """Store one reading; sending the same reading again changes nothing.

    Returns the outcome and the reading as stored. The caller commits.

    Raises
    ------
    Conflict
        The id exists with other content and cannot change (signed, model fields differ, or
        another reader's); ``detail`` holds the stored version when it is the caller's.
    InvalidInput
        ``amends_id`` names no reading of this reader.
    """
    existing = session.get(Reading, data.id, with_for_update={"of": Reading})
    if existing is None:
        _check_amends(session, user, data)
        values = {f: getattr(data, f) for f in MODEL_FIELDS}
        inserted = session.execute(
            insert(Reading)
            .values(
                id=data.id,
                user_id=user.id,
                image_id=_image_id(session, data.image, now=now),
                received_at=now,
                updated_at=now,
                **values,
            )
            .on_conflict_do_nothing(index_elements=[Reading.id])
            .returning(Reading.id)
        ).scalar()
        if inserted is not None:
            # Stored as sent: no need to read it back (most writes take this path).
            public = ReadingPublic(**data.model_dump(), reader=user.username, received_at=now)
            return "created", public
        existing = session.get(Reading, data.id, with_for_update={"of": Reading})
        if existing is None:  # pragma: no cover - a concurrent insert cannot vanish
            raise Conflict("The reading could not be stored; send it again.")
    status, stored = compare_and_update(existing, user, data, now=now)
    return status, to_public(stored)


def compare_and_update(
    existing: Reading, user: User, data: ReadingCreate, *, now: datetime
) -> tuple[WriteStatus, Reading]:
    """Settle a reading sent again: unchanged, signed now (updated), or a :class:`Conflict`."""
    if existing.user_id != user.id:
        raise Conflict("A reading with this id belongs to another reader.")
    stored = to_create(existing)
    if stored == data:
        return "unchanged", existing
    fixed = set(ReadingCreate.model_fields) - set(DECISION_FIELDS)
    same_fixed = all(getattr(stored, f) == getattr(data, f) for f in fixed)
    if existing.signed_at is not None or not same_fixed:
        raise Conflict(
            "This reading is already stored with different content. A signed reading never"
            " changes: send an amendment (a new reading whose amends_id names it).",
            detail={"stored": to_public(existing).model_dump(mode="json")},
        )
    for field in DECISION_FIELDS:
        setattr(existing, field, getattr(data, field))
    existing.updated_at = now
    return "updated", existing


def _check_amends(session: Session, user: User, data: ReadingCreate) -> None:
    if data.amends_id is None:
        return
    amended = session.get(Reading, data.amends_id)
    if data.amends_id == data.id or amended is None or amended.user_id != user.id:
        raise InvalidInput(
            "amends_id must name an earlier reading of yours.",
            detail={"amends_id": str(data.amends_id)},
        )


def _image_id(session: Session, image: ImageMeta, *, now: datetime) -> int:
    values = image.model_dump()
    image_id = session.execute(
        insert(Image)
        .values(first_seen_at=now, **values)
        .on_conflict_do_nothing(constraint="uq_images_identity")
        .returning(Image.id)
    ).scalar()
    if image_id is not None:
        return image_id
    query = select(Image.id)
    for field, value in values.items():
        column = getattr(Image, field)
        query = query.where(column.is_(None) if value is None else column == value)
    return session.execute(query).scalar_one()


def write_one(
    session: Session, user: User, data: ReadingCreate, *, now: datetime, client_addr: str
) -> tuple[WriteStatus, ReadingPublic]:
    """:func:`put_reading`, audited and committed."""
    status, public = put_reading(session, user, data, now=now)
    audit.record(
        session,
        action="reading_write",
        now=now,
        actor=user,
        target=str(data.id),
        client_addr=client_addr,
        detail={"status": status},
    )
    session.commit()
    return status, public


def get_reading(
    session: Session, user: User, reading_id: uuid.UUID, *, now: datetime, client_addr: str
) -> ReadingPublic:
    """One reading the caller may see; another reader's reading is reported as absent."""
    reading = session.get(Reading, reading_id)
    if reading is None or (user.role != "admin" and reading.user_id != user.id):
        raise NotFound("There is no such reading.")
    audit.record(
        session,
        action="reading_read",
        now=now,
        actor=user,
        target=str(reading_id),
        client_addr=client_addr,
    )
    session.commit()
    return to_public(reading)


def list_readings(
    session: Session,
    user: User,
    filters: ReadingFilters,
    *,
    limit: int,
    cursor: str | None,
    now: datetime,
    client_addr: str,
) -> ReadingsPublic:
    """A page of readings, oldest first. A radiologist only ever sees their own."""
    query = _visible(select(Reading).join(Reading.user), user, filters)
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor)
        query = query.where(tuple_(Reading.created_at, Reading.id) > tuple_(created_at, last_id))
    query = query.order_by(Reading.created_at, Reading.id).limit(limit + 1)
    rows = list(session.scalars(query))
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    audit.record(
        session,
        action="reading_list",
        now=now,
        actor=user,
        client_addr=client_addr,
        detail={
            "count": len(page),
            "user": filters.user,
            "label": filters.label,
            "model_id": filters.model_id,
        },
    )
    session.commit()
    return ReadingsPublic(data=[to_public(r) for r in page], next_cursor=next_cursor)


def _visible(query: Select, user: User, filters: ReadingFilters) -> Select:
    if user.role != "admin":
        if filters.user is not None and filters.user != user.username:
            raise PermissionDenied("You can only see your own readings.")
        query = query.where(Reading.user_id == user.id)
    elif filters.user is not None:
        query = query.where(User.username == filters.user)
    if filters.since is not None:
        query = query.where(Reading.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Reading.created_at < filters.until)
    if filters.label is not None:
        query = query.where(Reading.label == filters.label)
    if filters.model_id is not None:
        query = query.where(Reading.model_id == filters.model_id)
    if filters.changed_since is not None:
        # Stored or signed at or after this server time, whatever the reading's created_at:
        # what a workstation's incremental pull needs, since readings made offline arrive late.
        query = query.where(Reading.updated_at >= filters.changed_since)
    return query


def encode_cursor(reading: Reading) -> str:
    raw = json.dumps([reading.created_at.isoformat(), str(reading.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Raises :class:`InvalidInput` for anything that is not a cursor this server made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, last_id = json.loads(raw)
        stamp = datetime.fromisoformat(created_at)
        if stamp.tzinfo is None:
            raise ValueError("naive timestamp")
        return stamp, uuid.UUID(last_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid.") from exc
