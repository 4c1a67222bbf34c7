"""Send the outbox: batches of server readings with the ids the client chose.

An entry is closed only after the server has confirmed it (created, updated or unchanged),
so a crash or a lost answer at any point means the entry is sent again, and the server's
idempotency by id makes that harmless. A conflict closes the entry with both versions kept;
a refusal of one entry holds that entry back with exponential backoff while the rest goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.contracts import ReadingBatchItem, ReadingCreate
from core.store import OutboxEntry, Store, UserId
from core.sync.backoff import backoff_delay
from core.sync.client import ApiClient, RequestRejected
from core.sync.mapping import MappingError, reading_id_of, to_reading_create
from core.sync.session import ServerSession

log = logging.getLogger(__name__)

MAX_BATCH = 500  # ReadingBatchCreate's limit
DECISION_FIELDS = ("agrees_with_model", "birads", "note", "signed_at")


@dataclass
class PushOutcome:
    sent: int = 0
    conflicts: int = 0
    rejected: int = 0


@dataclass
class _Outgoing:
    reading: ReadingCreate
    entries: list[OutboxEntry]


def _signed_elsewhere(sent: ReadingCreate, result: ReadingBatchItem) -> bool:
    """An unsigned reading sent again (after a crash) that the server meanwhile got signed from
    another workstation: what we sent is there; the signature comes back with the next pull.
    Not a conflict."""
    if result.status != "conflict" or result.stored is None or sent.signed_at is not None:
        return False
    stored = ReadingCreate(**result.stored.model_dump(exclude={"reader", "received_at"}))
    return stored.model_copy(update=dict.fromkeys(DECISION_FIELDS)) == sent


class Pusher:
    """Pushes one user's due outbox entries until none is left (or ``cancel`` is set)."""

    def __init__(
        self,
        *,
        store: Store,
        client: ApiClient,
        session: ServerSession,
        clock: Callable[[], datetime],
        random_fraction: Callable[[], float],
        batch_size: int = MAX_BATCH,
    ) -> None:
        self._store = store
        self._client = client
        self._session = session
        self._clock = clock
        self._random = random_fraction
        self._batch_size = max(1, min(batch_size, MAX_BATCH))

    def push(self, user_id: UserId, cancel: threading.Event) -> PushOutcome:
        """Raises SyncError (network, server, auth) as soon as the server cannot be used; what
        the server confirmed before that is already marked."""
        outcome = PushOutcome()
        while not cancel.is_set():
            entries = self._store.sync.pending_for_user(user_id, self._batch_size)
            if not entries:
                break
            self._push_batch(entries, outcome)
        return outcome

    def _push_batch(self, entries: list[OutboxEntry], outcome: PushOutcome) -> None:
        context = self._store.sync.context(entries)
        outgoing: list[_Outgoing] = []
        by_id: dict[object, _Outgoing] = {}
        for entry in entries:
            try:
                reading = to_reading_create(entry, context)
            except MappingError as exc:
                self._hold_back(entry, f"This change cannot be sent: {exc}.")
                outcome.rejected += 1
                continue
            same = by_id.get(reading.id)
            if same is not None and same.reading == reading:
                same.entries.append(entry)  # a reading and its signature: one server reading
                continue
            item = _Outgoing(reading, [entry])
            by_id[reading.id] = item
            outgoing.append(item)
        if not outgoing:
            return
        results = self._send([o.reading for o in outgoing])
        done: list[int] = []
        for item, result in zip(outgoing, results, strict=True):
            if isinstance(result, RequestRejected):
                for entry in item.entries:
                    self._hold_back(entry, result.message)
                outcome.rejected += len(item.entries)
            elif result.status in ("created", "updated", "unchanged") or _signed_elsewhere(
                item.reading, result
            ):
                done.extend(e.id for e in item.entries)
            elif result.status == "conflict":
                for entry in item.entries:
                    self._store.sync.mark_conflict(
                        entry,
                        reading_id=reading_id_of(entry),
                        local_version=item.reading.model_dump(mode="json"),
                        server_version=None
                        if result.stored is None
                        else result.stored.model_dump(mode="json"),
                        message=result.message or "The server holds another version.",
                    )
                outcome.conflicts += len(item.entries)
            else:
                for entry in item.entries:
                    self._hold_back(entry, result.message or "The server refused this change.")
                outcome.rejected += len(item.entries)
        self._store.mark_outbox_done(done)
        outcome.sent += len(done)

    def _send(self, readings: list[ReadingCreate]) -> list[ReadingBatchItem | RequestRejected]:
        """Results in order. A batch refused as a whole (too large, invalid) is split in
        halves, in order, until the refused readings are found alone."""
        try:
            return list(self._session.call(lambda token: self._client.push(token, readings)))
        except RequestRejected as exc:
            if len(readings) == 1:
                log.warning("The server refused reading %s: %s", readings[0].id, exc.message)
                return [exc]
            middle = len(readings) // 2
            return self._send(readings[:middle]) + self._send(readings[middle:])

    def _hold_back(self, entry: OutboxEntry, message: str) -> None:
        delay = backoff_delay(entry.attempts + 1, random_fraction=self._random)
        log.warning(
            "Outbox entry %d (%s %s) held back: %s",
            entry.id,
            entry.entity,
            entry.entity_id,
            message,
        )
        self._store.mark_outbox_failed(
            [entry.id], error=message, next_attempt_at=self._clock() + delay
        )
