"""Logging in to the central server, and offline when it cannot be reached.

After a successful online login the workstation keeps the user's profile and an Argon2
verifier of the password (in the store) and the tokens (keyring or private file). Offline, the
verifier lets the same user in for ``offline_login_days`` after that online login; then the
server is needed again. A password the server refuses also removes a verifier that still
accepts it, so a password changed or an account disabled on the server stops working offline
as soon as this workstation hears about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import StoreError, SyncError, SyncErrorKind
from core.store import ServerAccountRecord, Store, UserRecord
from core.sync.client import ApiClient
from core.sync.session import tokens_from_pair
from core.sync.tokens import TokenStore, token_key


@dataclass(frozen=True)
class LoginResult:
    """Who logged in, and whether the server itself said yes (``online``)."""

    user: UserRecord
    account: ServerAccountRecord
    online: bool


def log_in(
    *,
    store: Store,
    client: ApiClient,
    tokens: TokenStore,
    username: str,
    password: str,
    offline_login_days: int,
    allow_offline: bool,
    clock: Callable[[], datetime],
) -> LoginResult | None:
    """Log in with the server, falling back to the offline verifier when it is unreachable.

    Returns:
        The account, or None when the username or password is wrong (same for both).

    Raises:
        SyncError: (network/server) the server is unreachable and offline login is not
            possible; (auth) too many attempts, or the token store is unusable.
    """
    server_url = client.endpoint.url
    try:
        pair = client.login(username, password)
    except SyncError as exc:
        if allow_offline and exc.kind in (SyncErrorKind.NETWORK, SyncErrorKind.SERVER):
            return _offline(
                store=store,
                server_url=server_url,
                username=username,
                password=password,
                days=offline_login_days,
                now=clock(),
                cause=exc,
            )
        raise
    if pair is None:
        store.sync.forget_verifier_if_matching(server_url, username, password)
        return None
    fresh = tokens_from_pair(pair, now=clock())
    profile = client.me(pair.access_token)
    account = store.sync.save_account(
        server_url=server_url,
        username=profile.username,
        server_user_id=str(profile.id),
        role=profile.role,
        profile=profile.model_dump(mode="json"),
        password=password if offline_login_days > 0 else None,
    )
    tokens.save(token_key(server_url, profile.username), fresh)
    return LoginResult(user=_user(store, account), account=account, online=True)


def _offline(
    *,
    store: Store,
    server_url: str,
    username: str,
    password: str,
    days: int,
    now: datetime,
    cause: SyncError,
) -> LoginResult | None:
    since = now - timedelta(days=days)
    account = store.sync.verify_offline(server_url, username, password, online_since=since)
    if account is not None and days > 0:
        return LoginResult(user=_user(store, account), account=account, online=False)
    known = store.sync.account(server_url, username)
    if (
        days > 0
        and known is not None
        and known.has_verifier
        and known.verified_online_at is not None
        and known.verified_online_at >= since
    ):
        return None  # a recent online login exists: the password is wrong
    how_long = f"in the last {days} days" if days > 0 else "(offline login is turned off)"
    raise SyncError(
        f"{cause.message} Logging in without the server needs an online login on this "
        f"workstation {how_long}. Connect to the hospital network and try again.",
        kind=cause.kind,
    ) from cause


def _user(store: Store, account: ServerAccountRecord) -> UserRecord:
    user = store.get_user(account.user_id)
    if user is None:  # pragma: no cover - written in the same transaction as the account
        raise StoreError("The account could not be read back from the local store; try again.")
    return user
