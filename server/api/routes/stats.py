"""Reading statistics."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter

from core.contracts import ErrorPublic, StatsPublic
from server.api.deps import CurrentUser, SessionDep
from server.services import stats
from server.services.stats import GroupBy

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("", responses={401: {"model": ErrorPublic}})
def read_stats(
    user: CurrentUser,
    session: SessionDep,
    group_by: GroupBy = "day",
    since: date | None = None,
    until: date | None = None,
) -> StatsPublic:
    """Counts, positive rate and reader-model agreement per day, reader or model version."""
    return stats.compute(session, user, group_by=group_by, since=since, until=until)
