"""What the sync client keeps in the local store: server accounts and their offline verifier,
the outbox seen per user, conflicts with both versions, the pull watermark and the last
outcome. Reached through :attr:`Store.sync`; every method is one short transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.store import outbox, queries, remote
from core.store.records import (
    MergeResult,
    OutboxEntity,
    OutboxEntry,
    ReadingId,
    ReadingSnapshot,
    RemoteReading,
    Role,
    ServerAccountRecord,
    SyncConflictRecord,
    SyncContext,
    SyncStatusRecord,
    UserId,
)
from core.store.tables import (
    Feedback,
    Image,
    Outbox,
    Reading,
    ServerAccount,
    SyncConflict,
    SyncStatusRow,
    User,
)

log = logging.getLogger(__name__)

SessionFactory = Callable[..., AbstractContextManager[Session]]


class SyncLedger:
    """The sync client's bookkeeping in the store. Built by :class:`core.store.Store`."""

    def __init__(
        self,
        session: SessionFactory,
        *,
        clock: Callable[[], datetime],
        hasher: PasswordHasher,
        dummy_hash: Callable[[], str],
    ) -> None:
        self._session = session
        self._clock = clock
        self._hasher = hasher
        self._dummy_hash = dummy_hash

    # Accounts ------------------------------------------------------------------------------

    def save_account(
        self,
        *,
        server_url: str,
        username: str,
        server_user_id: str,
        role: Role,
        profile: dict[str, Any],
        password: str | None,
    ) -> ServerAccountRecord:
        """Remember a successful online login: the local user (created if needed, linked to
        its server id, given the server's role), its profile and an offline verifier.

        ``password=None`` keeps the current verifier (no offline login configured).
        """
        verifier = None if password is None else self._hasher.hash(password)  # slow: outside
        now = self._clock()
        with self._session(write=True) as session:
            user = queries.find_user(session, username)
            if user is None:
                user = User(
                    username=username,
                    display_name=username,
                    password_hash=None,
                    role=role,
                    created_at=now,
                )
                session.add(user)
                session.flush()
            user.server_user_id = server_user_id
            user.role = role
            account = session.scalar(
                select(ServerAccount).where(
                    ServerAccount.server_url == server_url, ServerAccount.user_id == user.id
                )
            )
            if account is None:
                account = ServerAccount(server_url=server_url, user_id=user.id)
                session.add(account)
            account.server_user_id = server_user_id
            account.role = role
            account.profile = json.dumps(profile, sort_keys=True)
            account.password_verifier = verifier
            account.verified_online_at = now
            account.last_login_at = now
            session.flush()
            return _account_record(account, user.username)

    def account(self, server_url: str, username: str) -> ServerAccountRecord | None:
        """The account of ``username`` (any letter case) on ``server_url``, if it logged in."""
        with self._session() as session:
            row = session.execute(
                _accounts().where(
                    ServerAccount.server_url == server_url, User.username == username.strip()
                )
            ).first()
            return None if row is None else _account_record(*row)

    def current_account(self, server_url: str | None = None) -> ServerAccountRecord | None:
        """The account that logged in last (on ``server_url`` when given)."""
        query = _accounts().order_by(ServerAccount.last_login_at.desc().nulls_last()).limit(1)
        if server_url is not None:
            query = query.where(ServerAccount.server_url == server_url)
        with self._session() as session:
            row = session.execute(query).first()
            return None if row is None else _account_record(*row)

    def verify_offline(
        self, server_url: str, username: str, password: str, *, online_since: datetime
    ) -> ServerAccountRecord | None:
        """The account if ``password`` matches its verifier and it logged in online at or after
        ``online_since``; else None, in the same time whatever the reason."""
        account = self.account(server_url, username)
        with self._session() as session:
            verifier = (
                None
                if account is None
                else session.scalar(
                    select(ServerAccount.password_verifier).where(ServerAccount.id == account.id)
                )
            )
        fresh = (
            account is not None
            and account.verified_online_at is not None
            and account.verified_online_at >= online_since
        )
        if not self._verify(verifier or self._dummy_hash(), password) or not verifier:
            return None
        if account is None or not fresh:
            return None
        with self._session(write=True) as session:
            session.execute(
                update(ServerAccount)
                .where(ServerAccount.id == account.id)
                .values(last_login_at=self._clock())
            )
        return self.account(server_url, username)

    def forget_verifier_if_matching(self, server_url: str, username: str, password: str) -> bool:
        """The server refused ``password``: drop the offline verifier if it still accepts it
        (password changed or account disabled on the server). Returns whether it was dropped."""
        account = self.account(server_url, username)
        if account is None or not account.has_verifier:
            return False
        with self._session() as session:
            verifier = session.scalar(
                select(ServerAccount.password_verifier).where(ServerAccount.id == account.id)
            )
        if verifier is None or not self._verify(verifier, password):
            return False
        with self._session(write=True) as session:
            session.execute(
                update(ServerAccount)
                .where(ServerAccount.id == account.id)
                .values(password_verifier=None)
            )
        return True

    def set_pull_watermark(self, account_id: int, at: datetime) -> None:
        """Next pull asks for readings changed on the server at or after ``at``."""
        with self._session(write=True) as session:
            session.execute(
                update(ServerAccount)
                .where(ServerAccount.id == account_id)
                .values(pull_watermark=at)
            )

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError) as exc:
            log.warning("An offline password verifier could not be checked: %s", exc)
            return False

    # Outbox --------------------------------------------------------------------------------

    def pending_for_user(self, user_id: UserId, limit: int) -> list[OutboxEntry]:
        """Up to ``limit`` due entries carrying readings or decisions of ``user_id``, oldest
        first."""
        with self._session() as session:
            return outbox.pending(session, limit=limit, now=self._clock(), user_id=user_id)

    def count_pending(self, user_id: UserId | None = None) -> int:
        """Entries not on the server yet (waiting to retry included), of one user or all."""
        with self._session() as session:
            return outbox.count_pending(session, user_id=user_id)

    def next_due(self, user_id: UserId) -> datetime | None:
        """When the earliest held-back entry of ``user_id`` may be retried."""
        with self._session() as session:
            return outbox.next_due(session, user_id=user_id)

    def held_back_error(self, user_id: UserId) -> str | None:
        """Why the latest refused entry of ``user_id`` still waits, if one does."""
        with self._session() as session:
            return outbox.held_back_error(session, user_id=user_id)

    def context(self, entries: Sequence[OutboxEntry]) -> SyncContext:
        """The readings and decisions that ``entries`` carry or point to."""
        reading_ids: set[str] = set()
        decision_ids: set[str] = set()
        for entry in entries:
            if entry.entity == "reading":
                reading_ids.add(entry.entity_id)
            else:
                reading_ids.add(entry.payload["reading_id"])
                decision_ids.add(entry.entity_id)
                if entry.payload.get("amends_id"):
                    decision_ids.add(entry.payload["amends_id"])
        with self._session() as session:
            decisions = {d.id: d for d in queries.decisions(session, Feedback.id.in_(decision_ids))}
            readings = _reading_snapshots(session, reading_ids)
            for snapshot in readings.values():
                if snapshot.root_decision is not None:
                    decisions.setdefault(snapshot.root_decision.id, snapshot.root_decision)
        return SyncContext(readings=readings, decisions=decisions)

    def mark_conflict(
        self,
        entry: OutboxEntry,
        *,
        reading_id: str,
        local_version: dict[str, Any],
        server_version: dict[str, Any] | None,
        message: str,
    ) -> None:
        """The server keeps another version of this entry's change. Close the entry, mark its
        reading or decision ``conflict`` and keep both versions for the radiologist."""
        now = self._clock()
        table = Reading if entry.entity == "reading" else Feedback
        with self._session(write=True) as session:
            session.execute(
                update(Outbox)
                .where(Outbox.id == entry.id, Outbox.done_at.is_(None))
                .values(done_at=now, last_error=message, attempts=Outbox.attempts + 1)
            )
            session.execute(
                update(table).where(table.id == entry.entity_id).values(sync_state="conflict")
            )
            known = session.scalar(
                select(SyncConflict.id).where(SyncConflict.outbox_id == entry.id)
            )
            if known is None:
                session.add(
                    SyncConflict(
                        outbox_id=entry.id,
                        entity=entry.entity,
                        entity_id=entry.entity_id,
                        reading_id=reading_id,
                        local_version=json.dumps(local_version, sort_keys=True),
                        server_version=None
                        if server_version is None
                        else json.dumps(server_version, sort_keys=True),
                        message=message,
                        detected_at=now,
                    )
                )

    # Conflicts -----------------------------------------------------------------------------

    def conflicts(self, *, include_resolved: bool = False) -> list[SyncConflictRecord]:
        """Conflicts oldest first; by default only those no radiologist has resolved."""
        query = select(SyncConflict).order_by(SyncConflict.id)
        if not include_resolved:
            query = query.where(SyncConflict.resolved_at.is_(None))
        with self._session() as session:
            return [_conflict_record(row) for row in session.scalars(query)]

    def count_conflicts(self) -> int:
        """How many conflicts wait for a radiologist."""
        with self._session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(SyncConflict)
                    .where(SyncConflict.resolved_at.is_(None))
                )
                or 0
            )

    def resolve_conflict(self, conflict_id: int) -> None:
        """A radiologist has seen both versions (and amended if needed); both stay stored."""
        with self._session(write=True) as session:
            session.execute(
                update(SyncConflict)
                .where(SyncConflict.id == conflict_id, SyncConflict.resolved_at.is_(None))
                .values(resolved_at=self._clock())
            )

    # Pull ----------------------------------------------------------------------------------

    def merge_remote(
        self, items: Iterable[RemoteReading], *, user_id: UserId, standalone: bool = False
    ) -> MergeResult:
        """Add pulled readings and decisions of ``user_id`` as synced, skipping known ones.

        Amendments whose amended reading is not here yet come back in ``unresolved``; with
        ``standalone`` they are stored as readings of their own instead.
        """
        with self._session(write=True) as session:
            return remote.merge(
                session, list(items), user_id=user_id, now=self._clock(), standalone=standalone
            )

    # Status --------------------------------------------------------------------------------

    def status(self) -> SyncStatusRecord:
        with self._session() as session:
            row = session.get(SyncStatusRow, 1)
            if row is None:
                return SyncStatusRecord()
            return SyncStatusRecord(
                last_attempt_at=row.last_attempt_at,
                last_success_at=row.last_success_at,
                last_error=row.last_error,
                last_error_kind=row.last_error_kind,
                failures=row.failures,
                next_attempt_at=row.next_attempt_at,
            )

    def save_status(self, record: SyncStatusRecord) -> None:
        with self._session(write=True) as session:
            row = session.get(SyncStatusRow, 1)
            if row is None:
                row = SyncStatusRow(id=1)
                session.add(row)
            row.last_attempt_at = record.last_attempt_at
            row.last_success_at = record.last_success_at
            row.last_error = record.last_error
            row.last_error_kind = record.last_error_kind
            row.failures = record.failures
            row.next_attempt_at = record.next_attempt_at


def _accounts() -> Any:
    return select(ServerAccount, User.username).join(User, User.id == ServerAccount.user_id)


def _account_record(account: ServerAccount, username: str) -> ServerAccountRecord:
    return ServerAccountRecord(
        id=account.id,
        server_url=account.server_url,
        user_id=UserId(account.user_id),
        username=username,
        server_user_id=account.server_user_id,
        role=cast(Role, account.role),
        profile=json.loads(account.profile),
        has_verifier=account.password_verifier is not None,
        verified_online_at=account.verified_online_at,
        last_login_at=account.last_login_at,
        pull_watermark=account.pull_watermark,
    )


def _conflict_record(row: SyncConflict) -> SyncConflictRecord:
    return SyncConflictRecord(
        id=row.id,
        entity=cast(OutboxEntity, row.entity),
        entity_id=row.entity_id,
        reading_id=ReadingId(row.reading_id),
        local_version=json.loads(row.local_version),
        server_version=None if row.server_version is None else json.loads(row.server_version),
        message=row.message,
        detected_at=row.detected_at,
        resolved_at=row.resolved_at,
    )


def _reading_snapshots(session: Session, reading_ids: set[str]) -> dict[ReadingId, ReadingSnapshot]:
    if not reading_ids:
        return {}
    rows = session.execute(
        select(Reading, Image, User)
        .join(Image, Image.id == Reading.image_id)
        .join(User, User.id == Reading.user_id)
        .where(Reading.id.in_(reading_ids))
    ).all()
    roots = queries.root_decisions(session, reading_ids)
    return {
        ReadingId(reading.id): ReadingSnapshot(
            id=ReadingId(reading.id),
            user_id=UserId(reading.user_id),
            payload=queries.reading_payload(reading, image, user),
            root_decision=roots.get(reading.id),
        )
        for reading, image, user in rows
    }
