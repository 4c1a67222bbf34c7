"""Calls made as one logged-in account, refreshing its tokens on the way.

An access token that has expired (by the client's reckoning, or because the server says 401)
is refreshed once, transparently; the new pair is saved before it is used, because the server
rotates refresh tokens and the old one never works again. A refresh the server refuses
(revoked by an administrator, expired, or reused) ends the session: the tokens are dropped and
the caller gets a :class:`SyncError` of kind ``auth``. Nothing in the outbox is touched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from core.contracts import TokenPair
from core.errors import SyncError, SyncErrorKind
from core.sync.client import ApiClient, Unauthorized
from core.sync.tokens import Tokens, TokenStore

log = logging.getLogger(__name__)

T = TypeVar("T")

EXPIRY_MARGIN = timedelta(seconds=30)
"""Refresh this long before the access token's announced expiry (clock skew, slow requests)."""

SESSION_ENDED = (
    "Your session on the server has ended (logged out, expired, or revoked by an "
    "administrator). Log in again; nothing waiting to be sent is lost."
)


def tokens_from_pair(pair: TokenPair, *, now: datetime) -> Tokens:
    return Tokens(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        access_expires_at=now + timedelta(seconds=pair.expires_in),
    )


class ServerSession:
    """The server as seen by one account whose tokens are in ``tokens`` under ``key``."""

    def __init__(
        self,
        client: ApiClient,
        *,
        tokens: TokenStore,
        key: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._key = key
        self._clock = clock
        self._lock = threading.Lock()

    def call(self, request: Callable[[str], T]) -> T:
        """``request(access_token)``, refreshing the tokens once if they are stale or refused.

        Raises:
            SyncError: (auth) no login, or the server ended it; others from ``request``.
        """
        tokens = self._current()
        try:
            return request(tokens.access_token)
        except Unauthorized:
            log.info("Access token refused; refreshing")
        tokens = self._refresh(stale=tokens)
        try:
            return request(tokens.access_token)
        except Unauthorized as exc:
            raise SyncError(SESSION_ENDED, kind=SyncErrorKind.AUTH) from exc

    def _current(self) -> Tokens:
        tokens = self._tokens.load(self._key)
        if tokens is None:
            raise SyncError(
                "You are not logged in to the server on this workstation. Log in; nothing "
                "waiting to be sent is lost.",
                kind=SyncErrorKind.AUTH,
            )
        if tokens.access_expires_at - EXPIRY_MARGIN <= self._clock():
            return self._refresh(stale=tokens)
        return tokens

    def _refresh(self, *, stale: Tokens) -> Tokens:
        with self._lock:
            stored = self._tokens.load(self._key)
            if stored is None:
                raise SyncError(SESSION_ENDED, kind=SyncErrorKind.AUTH)
            if stored.refresh_token != stale.refresh_token and (
                stored.access_expires_at - EXPIRY_MARGIN > self._clock()
            ):
                return stored  # another thread or process refreshed meanwhile
            try:
                pair = self._client.refresh(stored.refresh_token)
            except Unauthorized as exc:
                # The server will never take this refresh token again: forget it.
                self._tokens.delete(self._key)
                raise SyncError(SESSION_ENDED, kind=SyncErrorKind.AUTH) from exc
            fresh = tokens_from_pair(pair, now=self._clock())
            self._tokens.save(self._key, fresh)
            return fresh
