"""The sync service: log in, push the outbox, pull the history, report the state. No Qt.

The composition root builds one :class:`SyncService` and hands it to whoever needs it. Every
method is synchronous and may take seconds (network, Argon2): run them on a worker thread.
``sync_once`` runs one complete pass; the app calls it from a timer (when
``status().next_attempt_at`` has passed) and from a "sync now" action, the CLI in a loop.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from core.contracts import AgreementPublic
from core.errors import SyncError, SyncErrorKind
from core.store import ServerAccountRecord, Store, SyncConflictRecord, SyncStatusRecord
from core.sync.backoff import backoff_delay
from core.sync.client import ApiClient
from core.sync.endpoint import ServerEndpoint
from core.sync.login import LoginResult, log_in
from core.sync.models import DOWNLOAD_CHUNK, SessionModelServer
from core.sync.outcomes import push_outcomes
from core.sync.pull import Puller, PullOutcome
from core.sync.push import MAX_BATCH, Pusher, PushOutcome
from core.sync.session import ServerSession
from core.sync.tokens import TokenStore, default_token_store, token_key

if TYPE_CHECKING:
    from core.modelstore import ModelRollout, RolloutReport
    from core.settings import Settings

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SyncStatus:
    """A snapshot for the status bar. ``pending`` counts the logged-in account's changes not
    on the server yet (held back ones included); other users' wait for their own login.
    ``held_back_error`` says why the server refused the latest change it held back."""

    configured: bool
    server_url: str | None
    username: str | None
    online: bool | None
    pending: int
    pending_other_users: int
    conflicts: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_kind: SyncErrorKind | None
    next_attempt_at: datetime | None
    held_back_error: str | None
    running: bool

    @property
    def nothing_left(self) -> bool:
        """Whether everything of this account is on the server and no conflict is open."""
        return self.pending == 0 and self.conflicts == 0


@dataclass(frozen=True)
class SyncReport:
    """What one pass did. ``status`` is the state right after it."""

    sent: int
    conflicts: int
    rejected: int
    readings_pulled: int
    decisions_pulled: int
    cancelled: bool
    already_running: bool
    status: SyncStatus
    model: RolloutReport | None = None  # what the model roll-out found, when it ran


class SyncService:
    """Sync of the local store with the central server for the account logged in last."""

    def __init__(
        self,
        *,
        store: Store,
        server_url: str | None,
        ca_cert: Path | None,
        tokens: TokenStore,
        offline_login_days: int,
        clock: Callable[[], datetime] = _utc_now,
        transport: httpx.BaseTransport | None = None,
        batch_size: int = MAX_BATCH,
        random_fraction: Callable[[], float] = random.random,
        rollout: ModelRollout | None = None,
        model_chunk_bytes: int = DOWNLOAD_CHUNK,
    ) -> None:
        self._store = store
        self._server_url = server_url
        self._ca_cert = ca_cert
        self._tokens = tokens
        self._offline_login_days = offline_login_days
        self._clock = clock
        self._transport = transport
        self._batch_size = batch_size
        self._random = random_fraction
        self._rollout = rollout
        self._model_chunk = model_chunk_bytes
        self._client: ApiClient | None = None
        self._client_lock = threading.Lock()
        self._running = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        *,
        server_url: str | None = None,
        tokens: TokenStore | None = None,
        batch_size: int = MAX_BATCH,
        rollout: ModelRollout | None = None,
    ) -> SyncService:
        """The service the settings describe; ``server_url`` overrides theirs (``mammo login
        --server``), else the settings' one, else the server of the last login. Each pass
        also brings the approved model version when the settings trust a signing key
        (``model_public_keys``; ``rollout`` replaces the one built for them)."""
        url = server_url or settings.server_url
        if url is None:
            last = store.sync.current_account()
            url = None if last is None else last.server_url
        if rollout is None:
            from core.modelstore import ModelRollout, library_for

            library = library_for(settings)
            rollout = None if library is None else ModelRollout(library)
        return cls(
            store=store,
            server_url=url,
            ca_cert=settings.ca_cert,
            tokens=tokens or default_token_store(settings.data_dir),
            offline_login_days=settings.offline_login_days,
            batch_size=batch_size,
            rollout=rollout,
        )

    @property
    def tokens(self) -> TokenStore:
        return self._tokens

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # Login ---------------------------------------------------------------------------------

    def log_in(
        self, username: str, password: str, *, allow_offline: bool = True
    ) -> LoginResult | None:
        """See :func:`core.sync.login.log_in`; None means wrong username or password."""
        return log_in(
            store=self._store,
            client=self._api(),
            tokens=self._tokens,
            username=username,
            password=password,
            offline_login_days=self._offline_login_days,
            allow_offline=allow_offline,
            clock=self._clock,
        )

    def log_out(self) -> None:
        """Forget the current account's tokens on this workstation (the queue stays)."""
        account = self._account()
        if account is not None:
            self._tokens.delete(self._token_key(account))

    # Sync ----------------------------------------------------------------------------------

    @property
    def rollout(self) -> ModelRollout | None:
        return self._rollout

    def sync_once(self, cancel: threading.Event | None = None) -> SyncReport:
        """Push every due change of the current account, then pull its new history, then
        (with a model roll-out) fetch and verify the approved model version.

        Returns a report even when entries were refused or conflicted (they are counted);
        when another pass is running it returns at once with ``already_running``.

        Raises:
            SyncError: auth (log in again), network or server (retry at
                ``status().next_attempt_at``). The outcome is recorded in ``status()``.
        """
        cancel = cancel or threading.Event()
        if not self._running.acquire(blocking=False):
            return self._report(already_running=True)
        try:
            pushed, pulled, model = self._sync(cancel)
        finally:
            self._running.release()
        return SyncReport(
            sent=pushed.sent,
            conflicts=pushed.conflicts,
            rejected=pushed.rejected,
            readings_pulled=pulled.readings_added,
            decisions_pulled=pulled.decisions_added,
            cancelled=cancel.is_set(),
            already_running=False,
            status=self.status(),
            model=model,
        )

    def status(self) -> SyncStatus:
        """The state for the status bar (a few quick store queries)."""
        record = self._store.sync.status()
        account = self._account()
        pending_all = self._store.sync.count_pending()
        pending = (
            pending_all if account is None else self._store.sync.count_pending(account.user_id)
        )
        kind = SyncErrorKind(record.last_error_kind) if record.last_error_kind else None
        online = None
        if record.last_attempt_at is not None:
            online = kind not in (SyncErrorKind.NETWORK, SyncErrorKind.SERVER)
        return SyncStatus(
            configured=self._server_url is not None,
            server_url=self._server_url,
            username=None if account is None else account.username,
            online=online,
            pending=pending,
            pending_other_users=pending_all - pending,
            conflicts=self._store.sync.count_conflicts(),
            last_attempt_at=record.last_attempt_at,
            last_success_at=record.last_success_at,
            last_error=record.last_error,
            last_error_kind=kind,
            next_attempt_at=record.next_attempt_at,
            held_back_error=None
            if account is None
            else self._store.sync.held_back_error(account.user_id),
            running=self._running.locked(),
        )

    def agreement(self) -> AgreementPublic:
        """Reader-model agreement from the server, as the account logged in last.

        Raises:
            SyncError: not logged in, or the server cannot be used.
        """
        account = self._account()
        if account is None:
            raise SyncError("Log in to the server to see the department's agreement figures.",
                            kind=SyncErrorKind.AUTH)
        client = self._api()
        session = ServerSession(
            client, tokens=self._tokens, key=self._token_key(account), clock=self._clock
        )
        return session.call(client.agreement)

    def conflicts(self) -> list[SyncConflictRecord]:
        """Open conflicts, each with this workstation's and the server's version."""
        return self._store.sync.conflicts()

    def resolve_conflict(self, conflict_id: int) -> None:
        """A radiologist has reviewed a conflict (both versions stay stored)."""
        self._store.sync.resolve_conflict(conflict_id)

    # Internals -----------------------------------------------------------------------------

    def _sync(
        self, cancel: threading.Event
    ) -> tuple[PushOutcome, PullOutcome, RolloutReport | None]:
        started = self._clock()
        before = self._store.sync.status()
        try:
            client = self._api()
            account = self._account()
            if account is None:
                raise SyncError(
                    "Log in to the server once on this workstation to start syncing; "
                    "nothing waiting to be sent is lost.",
                    kind=SyncErrorKind.AUTH,
                )
            session = ServerSession(
                client, tokens=self._tokens, key=self._token_key(account), clock=self._clock
            )
            pusher = Pusher(
                store=self._store,
                client=client,
                session=session,
                clock=self._clock,
                random_fraction=self._random,
                batch_size=self._batch_size,
            )
            pushed = pusher.push(account.user_id, cancel)
            puller = Puller(store=self._store, client=client, session=session, clock=self._clock)
            pulled = puller.pull(account, cancel)
            push_outcomes(store=self._store, client=client, session=session,
                          user_id=account.user_id, cancel=cancel)
            model = None
            if self._rollout is not None and not cancel.is_set():
                server = SessionModelServer(client, session, chunk_bytes=self._model_chunk)
                model = self._rollout.update(server, cancel)
        except SyncError as exc:
            self._record_failure(before, exc, started=started)
            raise
        log.info(
            "Sync: %d sent, %d conflicts, %d held back, %d readings and %d decisions pulled",
            pushed.sent,
            pushed.conflicts,
            pushed.rejected,
            pulled.readings_added,
            pulled.decisions_added,
        )
        finished = not cancel.is_set()
        self._store.sync.save_status(
            SyncStatusRecord(
                last_attempt_at=started,
                last_success_at=self._clock() if finished else before.last_success_at,
                failures=0,
                # Refused entries wait for their own backoff; else the app's timer decides.
                next_attempt_at=self._store.sync.next_due(account.user_id),
            )
        )
        return pushed, pulled, model

    def _record_failure(
        self, before: SyncStatusRecord, exc: SyncError, *, started: datetime
    ) -> None:
        retryable = exc.kind in (SyncErrorKind.NETWORK, SyncErrorKind.SERVER)
        failures = before.failures + 1 if retryable else before.failures
        next_attempt = (
            started + backoff_delay(failures, random_fraction=self._random) if retryable else None
        )
        log.info("Sync failed (%s): %s", exc.kind, exc.message)
        self._store.sync.save_status(
            replace(
                before,
                last_attempt_at=started,
                last_error=exc.message,
                last_error_kind=str(exc.kind),
                failures=failures,
                next_attempt_at=next_attempt,
            )
        )

    def _report(self, *, already_running: bool) -> SyncReport:
        return SyncReport(
            sent=0,
            conflicts=0,
            rejected=0,
            readings_pulled=0,
            decisions_pulled=0,
            cancelled=False,
            already_running=already_running,
            status=self.status(),
        )

    def _endpoint(self) -> ServerEndpoint:
        if self._server_url is None:
            raise SyncError(
                "No server is configured (server_url); readings stay on this workstation.",
                kind=SyncErrorKind.NETWORK,
            )
        return ServerEndpoint.parse(self._server_url, ca_cert=self._ca_cert)

    def _api(self) -> ApiClient:
        with self._client_lock:
            if self._client is None:
                self._client = ApiClient(self._endpoint(), transport=self._transport)
            return self._client

    def _account(self) -> ServerAccountRecord | None:
        if self._server_url is None:
            return None
        # Normalised as ServerEndpoint.parse does, without refusing: status() must not raise.
        return self._store.sync.current_account(self._server_url.strip().rstrip("/"))

    @staticmethod
    def _token_key(account: ServerAccountRecord) -> str:
        return token_key(
            account.server_url, str(account.profile.get("username") or account.username)
        )
