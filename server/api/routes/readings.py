"""Readings: idempotent upload by client id, batch sync, listing with cursor pagination."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from core.contracts import (
    ErrorPublic,
    ReadingBatchCreate,
    ReadingBatchPublic,
    ReadingCreate,
    ReadingPublic,
    ReadingsPublic,
)
from server.api.deps import ClientAddr, CurrentUser, Now, SessionDep
from server.errors import InvalidInput
from server.services import reading_batch, readings
from server.services.readings import ReadingFilters

router = APIRouter(prefix="/readings", tags=["readings"])

_ERRORS = {401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}}


@router.put(
    "/{reading_id}",
    responses={**_ERRORS, 201: {"model": ReadingPublic}, 409: {"model": ErrorPublic}},
)
def put_reading(
    reading_id: uuid.UUID,
    body: ReadingCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
    response: Response,
) -> ReadingPublic:
    """Store a reading under the id the client chose: 201 when new, 200 when already there."""
    if body.id != reading_id:
        raise InvalidInput("The reading's id does not match the URL.")
    status, stored = readings.write_one(session, user, body, now=now, client_addr=client)
    response.status_code = 201 if status == "created" else 200
    return stored


@router.post("/batch", responses=_ERRORS)
def write_batch(
    body: ReadingBatchCreate, user: CurrentUser, session: SessionDep, now: Now, client: ClientAddr
) -> ReadingBatchPublic:
    """Store many readings; each gets its own status (created, updated, unchanged, conflict,
    rejected)."""
    results = reading_batch.write_batch_retrying(
        session, user, body.readings, now=now, client_addr=client
    )
    return ReadingBatchPublic(results=results)


@router.get("", responses=_ERRORS)
def list_readings(
    user: CurrentUser,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
    since: datetime | None = None,
    until: datetime | None = None,
    label: str | None = None,
    model_id: str | None = None,
    changed_since: datetime | None = None,
    reader: Annotated[str | None, Query(alias="user")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> ReadingsPublic:
    """Readings oldest first, filtered; a radiologist sees only their own.

    ``since``/``until`` filter on ``created_at`` (when the model read the image);
    ``changed_since`` on when the server last stored or signed the reading.
    """
    filters = ReadingFilters(
        since=since,
        until=until,
        label=label,
        model_id=model_id,
        user=reader,
        changed_since=changed_since,
    )
    return readings.list_readings(
        session, user, filters, limit=limit, cursor=cursor, now=now, client_addr=client
    )


@router.get("/{reading_id}", responses={**_ERRORS, 404: {"model": ErrorPublic}})
def get_reading(
    reading_id: uuid.UUID, user: CurrentUser, session: SessionDep, now: Now, client: ClientAddr
) -> ReadingPublic:
    """One reading, if the caller may see it."""
    return readings.get_reading(session, user, reading_id, now=now, client_addr=client)
