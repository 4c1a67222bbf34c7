"""Reading statistics per day, per reader or per model version."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import Integer, case, cast, exists, func, select
from sqlalchemy.orm import Session, aliased

from core.contracts import StatsPublic, StatsRow
from server.db.models import Reading, User

GroupBy = Literal["day", "user", "model"]


def compute(
    session: Session,
    user: User,
    *,
    group_by: GroupBy,
    since: date | None = None,
    until: date | None = None,
) -> StatsPublic:
    """Counts, positive rate (score at or above the reading's threshold) and reader-model
    agreement. Readings superseded by an amendment are left out; days are UTC days, ``until``
    inclusive. A radiologist gets statistics of their own readings only."""
    keys = {
        "day": func.to_char(func.timezone("UTC", Reading.created_at), "YYYY-MM-DD"),
        "user": User.username,
        "model": Reading.model_id + "@" + func.left(Reading.model_sha256, 12),
    }
    key = keys[group_by].label("key")
    positive = cast(Reading.score >= Reading.threshold, Integer)
    agreed = case((Reading.agrees_with_model.is_(True), 1), else_=0)
    newer = aliased(Reading)
    query = (
        select(
            key,
            func.count().label("readings"),
            func.sum(positive).label("positives"),
            func.count(Reading.agrees_with_model).label("reviewed"),
            func.sum(agreed).label("agreements"),
        )
        .join(User, Reading.user_id == User.id)
        .where(~exists().where(newer.amends_id == Reading.id))
        .group_by(key)
        .order_by(key)
    )
    if user.role != "admin":
        query = query.where(Reading.user_id == user.id)
    if since is not None:
        query = query.where(Reading.created_at >= datetime.combine(since, time(), UTC))
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), time(), UTC)
        query = query.where(Reading.created_at < end)
    rows = [
        StatsRow(
            key=row.key,
            readings=row.readings,
            positives=row.positives,
            positive_rate=row.positives / row.readings if row.readings else None,
            reviewed=row.reviewed,
            agreements=row.agreements,
            agreement_rate=row.agreements / row.reviewed if row.reviewed else None,
        )
        for row in session.execute(query)
    ]
    return StatsPublic(group_by=group_by, since=since, until=until, rows=rows)
