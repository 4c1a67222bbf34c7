"""Outcomes of exams per breast (biopsy malignant or benign, no cancer at follow-up)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from core.contracts import OutcomeCreate, OutcomePublic, OutcomesPublic
from server.api.deps import ClientAddr, CurrentUser, Now, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, BODY_ERRORS, error_responses
from server.errors import InvalidInput
from server.services import outcomes

router = APIRouter(prefix="/outcomes", tags=["outcomes"], responses=ANY_ROUTE_ERRORS)


@router.put(
    "/{outcome_id}",
    responses={**BODY_ERRORS, **error_responses(401, 409), 201: {"model": OutcomePublic}},
)
def put_outcome(
    outcome_id: uuid.UUID,
    body: OutcomeCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
    response: Response,
) -> OutcomePublic:
    """Store an outcome under the id the workstation chose: 201 when new, 200 when there."""
    if body.id != outcome_id:
        raise InvalidInput("The outcome's id does not match the URL.")
    created, stored = outcomes.put_outcome(session, user, body, now=now, client_addr=client)
    response.status_code = 201 if created else 200
    return outcomes.to_public(stored)


@router.get("", responses=error_responses(401))
def list_outcomes(user: CurrentUser, session: SessionDep) -> OutcomesPublic:
    """The newest outcome of each breast."""
    return outcomes.list_outcomes(session)
