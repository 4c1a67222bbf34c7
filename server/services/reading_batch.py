"""Batch sync of readings: the same outcome as sending each with ``PUT``, in a few statements.

A workstation coming back online sends hundreds of readings; one round trip per reading would
make sync slow. Known ids are settled in Python, new readings and their images go in with one
multi-row INSERT each, and only odd cases (an id twice in a batch, a concurrent writer) take
the one-by-one path.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core.contracts import ImageMeta, ReadingBatchItem, ReadingCreate
from server.db.models import Image, Reading, User
from server.errors import Conflict, InvalidInput
from server.services import audit
from server.services.readings import IMAGE_FIELDS, MODEL_FIELDS, compare_and_update, put_reading

ImageIdentity = tuple[object, ...]


DEADLOCK_CODES = ("40P01", "40001")  # deadlock detected, serialization failure


def write_batch_retrying(
    session: Session, user: User, items: list[ReadingCreate], *, now: datetime, client_addr: str,
    attempts: int = 3,
) -> list[ReadingBatchItem]:
    """:func:`write_batch`, tried again when PostgreSQL picked this transaction as a deadlock
    victim: the batch is idempotent, so a retry gives the same outcome as one clean run."""
    for attempt in range(attempts):
        try:
            return write_batch(session, user, items, now=now, client_addr=client_addr)
        except OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) not in DEADLOCK_CODES or attempt == attempts - 1:
                raise
            session.rollback()
    raise AssertionError("unreachable")


def write_batch(
    session: Session, user: User, items: list[ReadingCreate], *, now: datetime, client_addr: str
) -> list[ReadingBatchItem]:
    """Store many readings. Each succeeds or fails alone and in order, so an amendment may
    follow the reading it amends in the same batch. Audited and committed."""
    results: dict[int, ReadingBatchItem] = {}
    one_by_one: list[int] = []
    existing = {
        r.id: r
        for r in session.scalars(
            # Locked in id order, so concurrent batches cannot deadlock on each other's rows.
            select(Reading)
            .where(Reading.id.in_({d.id for d in items}))
            .order_by(Reading.id)
            .with_for_update(of=Reading)
        ).unique()
    }
    fresh: list[tuple[int, ReadingCreate]] = []
    seen: set[uuid.UUID] = set()
    for index, data in enumerate(items):
        if data.id in seen:
            one_by_one.append(index)
        elif data.id in existing:
            results[index] = _settle(existing[data.id], user, data, now=now)
        else:
            fresh.append((index, data))
        seen.add(data.id)

    accepted = _check_amends(session, user, fresh, existing, results)
    one_by_one += _insert(session, user, accepted, results, now=now)
    for index in sorted(one_by_one):
        results[index] = _one(session, user, items[index], now=now)

    ordered = [results[i] for i in range(len(items))]
    counts: dict[str, int] = {}
    for item in ordered:
        counts[item.status] = counts.get(item.status, 0) + 1
    audit.record(
        session,
        action="reading_batch",
        now=now,
        actor=user,
        client_addr=client_addr,
        detail={"counts": counts, "ids": [str(item.id) for item in ordered]},
    )
    session.commit()
    return ordered


def _settle(existing: Reading, user: User, data: ReadingCreate, *, now: datetime):
    try:
        status, _ = compare_and_update(existing, user, data, now=now)
    except Conflict as exc:
        return _conflict(data, exc)
    return ReadingBatchItem(id=data.id, status=status)


def _conflict(data: ReadingCreate, exc: Conflict) -> ReadingBatchItem:
    stored = (exc.detail or {}).get("stored")
    return ReadingBatchItem(id=data.id, status="conflict", message=exc.message, stored=stored)


def _one(session: Session, user: User, data: ReadingCreate, *, now: datetime):
    try:
        with session.begin_nested():
            status, _ = put_reading(session, user, data, now=now)
    except Conflict as exc:
        return _conflict(data, exc)
    except InvalidInput as exc:
        return ReadingBatchItem(id=data.id, status="rejected", message=exc.message)
    return ReadingBatchItem(id=data.id, status=status)


def _check_amends(
    session: Session,
    user: User,
    fresh: list[tuple[int, ReadingCreate]],
    existing: dict[uuid.UUID, Reading],
    results: dict[int, ReadingBatchItem],
) -> list[tuple[int, ReadingCreate]]:
    """New readings whose ``amends_id`` names an earlier reading of this reader."""
    owners = {r.id: r.user_id for r in existing.values()}
    wanted = {d.amends_id for _, d in fresh if d.amends_id is not None} - owners.keys()
    if wanted:
        rows = session.execute(select(Reading.id, Reading.user_id).where(Reading.id.in_(wanted)))
        owners.update((reading_id, owner) for reading_id, owner in rows)
    accepted: list[tuple[int, ReadingCreate]] = []
    created_earlier: set[uuid.UUID] = set()
    for index, data in fresh:
        target = data.amends_id
        if target is not None and not (
            target != data.id and (owners.get(target) == user.id or target in created_earlier)
        ):
            results[index] = ReadingBatchItem(
                id=data.id,
                status="rejected",
                message="amends_id must name an earlier reading of yours.",
            )
            continue
        created_earlier.add(data.id)
        accepted.append((index, data))
    return accepted


def _insert(
    session: Session,
    user: User,
    accepted: list[tuple[int, ReadingCreate]],
    results: dict[int, ReadingBatchItem],
    *,
    now: datetime,
) -> list[int]:
    """Insert in one statement; returns the indexes left for the one-by-one path."""
    if not accepted:
        return []
    try:
        with session.begin_nested():
            image_ids = _image_ids(session, [d.image for _, d in accepted], now=now)
            rows = [
                {
                    "id": d.id,
                    "user_id": user.id,
                    "image_id": image_ids[_identity(d.image)],
                    "received_at": now,
                    "updated_at": now,
                    **{f: getattr(d, f) for f in MODEL_FIELDS},
                }
                for _, d in sorted(accepted, key=lambda item: item[1].id)  # same lock order
            ]
            inserted = set(
                session.scalars(
                    insert(Reading)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=[Reading.id])
                    .returning(Reading.id)
                )
            )
    except IntegrityError:
        # A concurrent writer took an id that an amendment here points to; settle each alone.
        return [index for index, _ in accepted]
    leftovers = []
    for index, data in accepted:
        if data.id in inserted:
            results[index] = ReadingBatchItem(id=data.id, status="created")
        else:
            leftovers.append(index)
    return leftovers


def _identity(image: ImageMeta) -> ImageIdentity:
    return tuple(getattr(image, f) for f in IMAGE_FIELDS)


def _image_ids(session: Session, images: list[ImageMeta], *, now: datetime):
    """Ids of these images, inserting the ones never seen. Sorted, so that concurrent batches
    take the unique index's locks in the same order and cannot deadlock."""
    unique = {_identity(image): image for image in images}
    ordered = [unique[key] for key in sorted(unique, key=repr)]
    session.execute(
        insert(Image)
        .values([{**image.model_dump(), "first_seen_at": now} for image in ordered])
        .on_conflict_do_nothing(constraint="uq_images_identity")
    )
    rows = session.scalars(
        select(Image).where(Image.pixel_sha256.in_({image.pixel_sha256 for image in ordered}))
    )
    return {tuple(getattr(row, f) for f in IMAGE_FIELDS): row.id for row in rows}
