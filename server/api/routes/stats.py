"""Reading statistics."""

from __future__ import annotations

from fastapi import APIRouter

from core.contracts import Day, StatsPublic
from server.api.deps import CurrentUser, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, error_responses
from server.services import stats
from server.services.stats import GroupBy

router = APIRouter(prefix="/stats", tags=["stats"], responses=ANY_ROUTE_ERRORS)


@router.get("", responses=error_responses(401))
def read_stats(
    user: CurrentUser,
    session: SessionDep,
    group_by: GroupBy = "day",
    since: Day | None = None,
    until: Day | None = None,
) -> StatsPublic:
    """Counts, positive rate and reader-model agreement per day, reader or model version."""
    return stats.compute(session, user, group_by=group_by, since=since, until=until)
