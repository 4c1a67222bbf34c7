"""Reader-model agreement, with 95 % intervals, per reader and model version."""

from __future__ import annotations

from fastapi import APIRouter

from core.contracts import AgreementPublic
from server.api.deps import CurrentUser, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, error_responses
from server.services import agreement

router = APIRouter(prefix="/stats", tags=["stats"], responses=ANY_ROUTE_ERRORS)


@router.get("/agreement", responses=error_responses(401))
def read_agreement(user: CurrentUser, session: SessionDep) -> AgreementPublic:
    """Cohen's kappa and percent agreement between the reader's recall decision (BI-RADS 0,
    3, 4, 5 vs 1, 2) and the model's class; with outcomes, sensitivity, specificity and
    recall rate of the reader, the model and "reader or model"; the cases they disagree on.
    An admin sees every reader, a radiologist their own."""
    return agreement.compute(session, user)
