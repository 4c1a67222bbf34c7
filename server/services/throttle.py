"""Login throttling, counted in PostgreSQL so that every app process sees the same numbers."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from server.db.models import LoginFailure
from server.errors import TooManyAttempts


class LoginThrottle:
    """Refuses logins after too many recent failures for one account or one client address."""

    def __init__(self, *, per_account: int, per_address: int, window: timedelta) -> None:
        self._per_account = per_account
        self._per_address = per_address
        self._window = window

    def check(self, session: Session, *, username: str, client_addr: str, now: datetime) -> None:
        """Raise :class:`TooManyAttempts` with the seconds to wait if either limit is reached."""
        waits = [
            self._wait(session, LoginFailure.username == username, self._per_account, now),
            self._wait(session, LoginFailure.client_addr == client_addr, self._per_address, now),
        ]
        wait = max(w for w in waits if w is not None) if any(waits) else None
        if wait is not None:
            raise TooManyAttempts(
                "Too many failed logins. Wait before trying again.", retry_after=wait
            )

    def record_failure(
        self, session: Session, *, username: str, client_addr: str, now: datetime
    ) -> None:
        session.add(LoginFailure(username=username, client_addr=client_addr, at=now))
        # Old rows serve no purpose; trimming here keeps the table small without a cron job.
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - 2 * self._window))

    def clear(self, session: Session, *, username: str) -> None:
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))

    def _wait(
        self, session: Session, which: ColumnElement[bool], limit: int, now: datetime
    ) -> int | None:
        recent = session.scalars(
            select(LoginFailure.at)
            .where(which, LoginFailure.at > now - self._window)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        ).all()
        if len(recent) < limit:
            return None
        # The limit is lifted once the limit-th most recent failure leaves the window.
        free_at = recent[-1] + self._window
        return max(1, math.ceil((free_at - now).total_seconds()))
