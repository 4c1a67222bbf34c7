"""Offline-first sync with the central server: log in (online or offline), push the outbox
in idempotent batches, pull the radiologist's history, keep conflicts with both versions.

:class:`SyncService` is the entry point; it never imports Qt and every call is synchronous.
"""

from core.sync.authenticator import ServerAuthenticator
from core.sync.endpoint import ServerEndpoint
from core.sync.login import LoginResult
from core.sync.service import SyncReport, SyncService, SyncStatus
from core.sync.tokens import FileTokenStore, KeyringTokenStore, TokenStore, default_token_store

__all__ = [
    "FileTokenStore",
    "KeyringTokenStore",
    "LoginResult",
    "ServerAuthenticator",
    "ServerEndpoint",
    "SyncReport",
    "SyncService",
    "SyncStatus",
    "TokenStore",
    "default_token_store",
]
