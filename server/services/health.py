"""Readiness: the database answers and is migrated to this server's head."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from core.contracts import HealthPublic
from server.db.database import Database
from server.db.migrate import current_revision, head_revision
from server.errors import ServiceUnavailable


def readiness(database: Database) -> HealthPublic:
    """Raises :class:`ServiceUnavailable` (with what failed in ``detail``) when not ready."""
    try:
        with database.session() as session:
            current = current_revision(session.connection())
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            "The database is unavailable.",
            detail={"database": False, "migrations_at_head": None},
        ) from exc
    head = head_revision()
    if current != head:
        raise ServiceUnavailable(
            "The database is not migrated: run `mammo-server migrate`.",
            detail={
                "database": True,
                "migrations_at_head": False,
                "current": current,
                "head": head,
            },
        )
    return HealthPublic(status="ok", database=True, migrations_at_head=True)
