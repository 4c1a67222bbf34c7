"""Who is reading: the seam between the login dialogs and where accounts live.

Today accounts live in the local store (Argon2 hashes). Server login comes with the sync
issue: a ``ServerAuthenticator`` implementing the same :class:`Authenticator` protocol (try the
server, fall back to the local hash within ``offline_login_days``) is built in ``app/main.py``
instead of :class:`LocalAuthenticator`; the dialogs do not change.
"""

from __future__ import annotations

from typing import Protocol

from core.errors import StoreError
from core.store import Store, UserRecord


class Authenticator(Protocol):
    """Checks credentials. Called on a worker thread: it may be slow (Argon2, network)."""

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The account, or None when the username or password is wrong (same for both)."""
        ...

    def needs_first_run(self) -> bool:
        """Whether no account can log in yet, so one must be created first."""
        ...

    def create_account(self, username: str, password: str) -> UserRecord:
        """Create an account that can log in here. Raises MammoError with a usable message."""
        ...


class LocalAuthenticator:
    """Accounts in the workstation's own store; works with no server configured."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        return self._store.verify_local_password(username, password)

    def needs_first_run(self) -> bool:
        return not self._store.has_accounts()

    def create_account(self, username: str, password: str) -> UserRecord:
        user_id = self._store.create_local_account(username, password, role="admin")
        user = self._store.get_user(user_id)
        if user is None:  # pragma: no cover - the row was committed just above
            raise StoreError("The new account could not be read back; try again.")
        return user
