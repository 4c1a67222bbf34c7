"""The login dialog's view of server accounts (the app's ``Authenticator`` protocol)."""

from __future__ import annotations

from core.errors import SyncError, SyncErrorKind
from core.store import UserRecord
from core.sync.service import SyncService


class ServerAuthenticator:
    """Accounts live on the central server; offline, the verifier of the last online login
    lets the same radiologist in for ``offline_login_days``. Called on a worker thread."""

    def __init__(self, service: SyncService) -> None:
        self._service = service

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The account, or None when the username or password is wrong.

        Raises:
            SyncError: the server is unreachable and offline login is not possible, or too
                many attempts; the message says what to do.
        """
        result = self._service.log_in(username, password)
        return None if result is None else result.user

    def needs_first_run(self) -> bool:
        return False  # accounts are created on the server, never on the workstation

    def create_account(self, username: str, password: str) -> UserRecord:
        raise SyncError(
            "Accounts are managed on the central server; ask IT to create yours.",
            kind=SyncErrorKind.AUTH,
        )
