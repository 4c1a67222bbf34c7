"""Bring the radiologist's readings made on other workstations into the local history.

Each pull asks for the readings the server stored or signed since the last complete pull
(``changed_since``, on the server's clock), page by page with the server's cursor. Readings
made offline elsewhere arrive late with an old ``created_at``; filtering on when the server
*received* them is what makes sure they are never skipped. The watermark moves only after a
complete pull, a few minutes back to cover transactions that were still committing; merging
is idempotent, so seeing a reading twice is harmless.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.store import RemoteReading, ServerAccountRecord, Store
from core.sync.client import ApiClient
from core.sync.mapping import to_remote
from core.sync.session import ServerSession

PAGE_SIZE = 500  # the server's largest page
OVERLAP = timedelta(minutes=5)
"""How far back of the previous pull's start the next one asks again."""


@dataclass
class PullOutcome:
    readings_added: int = 0
    decisions_added: int = 0
    skipped: int = 0
    complete: bool = False


class Puller:
    """Pulls one account's changed readings into the store."""

    def __init__(
        self,
        *,
        store: Store,
        client: ApiClient,
        session: ServerSession,
        clock: Callable[[], datetime],
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._store = store
        self._client = client
        self._session = session
        self._clock = clock
        self._page_size = max(1, min(page_size, PAGE_SIZE))

    def pull(self, account: ServerAccountRecord, cancel: threading.Event) -> PullOutcome:
        """Raises SyncError when the server cannot be used; pages merged before stay merged."""
        outcome = PullOutcome()
        server_name = str(account.profile.get("username") or account.username)
        since = account.pull_watermark
        started: datetime | None = None
        cursor: str | None = None
        waiting: list[RemoteReading] = []
        while True:
            if cancel.is_set():
                return outcome
            page, server_now = self._session.call(
                lambda token, cursor=cursor: self._client.list_readings(
                    token,
                    user=server_name,
                    changed_since=since,
                    cursor=cursor,
                    limit=self._page_size,
                )
            )
            if started is None:
                # The server's clock, not ours: the workstation's may be off by minutes.
                started = server_now or self._clock() - timedelta(hours=1)
            remote = [r for r in (to_remote(p) for p in page.data) if r is not None]
            outcome.skipped += len(page.data) - len(remote)
            merged = self._store.sync.merge_remote([*waiting, *remote], user_id=account.user_id)
            outcome.readings_added += merged.readings_added
            outcome.decisions_added += merged.decisions_added
            waiting = list(merged.unresolved)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if waiting:
            # What they amend never came: keep them as readings of their own, not lost.
            merged = self._store.sync.merge_remote(
                waiting, user_id=account.user_id, standalone=True
            )
            outcome.readings_added += merged.readings_added
            outcome.decisions_added += merged.decisions_added
        self._store.sync.set_pull_watermark(account.id, started - OVERLAP)
        outcome.complete = True
        return outcome
