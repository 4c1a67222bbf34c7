"""The seam between the app and server sync: what the window needs of ``core.sync``.

``app/main.py`` passes a :class:`core.sync.SyncService` when a server is configured (None
otherwise); tests pass a fake with the same methods. Every method is synchronous and may take
seconds (network, store): the app calls them on the io pool only.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # core.sync imports the HTTP client; the app only needs its types here
    from core.store import SyncConflictRecord
    from core.sync import SyncReport, SyncStatus


class SyncBackend(Protocol):
    """The part of :class:`core.sync.SyncService` the app uses."""

    def status(self) -> SyncStatus:
        """The state for the status bar (quick store queries)."""
        ...

    def sync_once(self, cancel: threading.Event | None = None) -> SyncReport:
        """One pass. Raises core.errors.SyncError after recording it in ``status()``."""
        ...

    def conflicts(self) -> list[SyncConflictRecord]:
        """Open conflicts, each with this workstation's and the server's version."""
        ...

    def resolve_conflict(self, conflict_id: int) -> None:
        """A radiologist has reviewed a conflict; both versions stay stored."""
        ...

    def close(self) -> None:
        ...
