"""Readings: idempotent upload by client id, batch sync, listing with cursor pagination."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from core.contracts import (
    ReadingBatchCreate,
    ReadingBatchPublic,
    ReadingCreate,
    ReadingPublic,
    ReadingsPublic,
    Timestamp,
)
from server.api.deps import ClientAddr, CurrentUser, Now, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, BODY_ERRORS, error_responses
from server.api.params import Cursor, FilterText, FilterUser
from server.errors import InvalidInput
from server.services import reading_batch, readings
from server.services.readings import ReadingFilters

router = APIRouter(prefix="/readings", tags=["readings"], responses=ANY_ROUTE_ERRORS)


# ":uuid": "/readings/batch" is then never taken for a reading id (PUT there is a 405).
@router.put(
    "/{reading_id:uuid}",
    responses={**BODY_ERRORS, **error_responses(401, 404, 409), 201: {"model": ReadingPublic}},
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


@router.post("/batch", responses={**BODY_ERRORS, **error_responses(401)})
def write_batch(
    body: ReadingBatchCreate, user: CurrentUser, session: SessionDep, now: Now, client: ClientAddr
) -> ReadingBatchPublic:
    """Store many readings; each gets its own status (created, updated, unchanged, conflict,
    rejected)."""
    results = reading_batch.write_batch_retrying(
        session, user, body.readings, now=now, client_addr=client
    )
    return ReadingBatchPublic(results=results)


@router.get("", responses=error_responses(401, 403))
def list_readings(
    user: CurrentUser,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    label: FilterText | None = None,
    model_id: FilterText | None = None,
    changed_since: Timestamp | None = None,
    reader: Annotated[FilterUser | None, Query(alias="user")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Cursor | None = None,
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


@router.get("/{reading_id:uuid}", responses=error_responses(401, 404))
def get_reading(
    reading_id: uuid.UUID, user: CurrentUser, session: SessionDep, now: Now, client: ClientAddr
) -> ReadingPublic:
    """One reading, if the caller may see it."""
    return readings.get_reading(session, user, reading_id, now=now, client_addr=client)
