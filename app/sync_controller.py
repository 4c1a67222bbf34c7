"""When the workstation syncs: on a timer, shortly after each saved change, and on request.

Every pass and every status query runs on the io pool through the one worker type, one job
at a time: requests that arrive meanwhile are remembered and run next, so answers never
arrive out of order and two passes never overlap. Sync problems are reported as status, for
the indicator; nothing here opens a dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app import jobs
from app.sync_backend import SyncBackend
from app.worker import JobPools, Worker
from core.errors import SyncError, SyncErrorKind

if TYPE_CHECKING:
    from core.sync import SyncReport, SyncStatus

log = logging.getLogger(__name__)

POLL_MS = 60_000  # also brings readings made on other workstations into the history
DEBOUNCE_MS = 3_000  # a batch saves a reading per image: sync once it pauses


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SyncController(QObject):
    """Schedules sync passes for the window.

    Signals: ``sync_started`` when a pass starts; ``sync_finished`` with its
    :class:`core.sync.SyncReport`; ``sync_failed`` with the exception (a ``SyncError`` is
    also recorded in the status that follows); ``status_changed`` with each new
    :class:`core.sync.SyncStatus`.
    """

    sync_started = Signal()
    sync_finished = Signal(object)
    sync_failed = Signal(object)
    status_changed = Signal(object)

    def __init__(self, sync: SyncBackend, pools: JobPools, *, poll_ms: int = POLL_MS,
                 debounce_ms: int = DEBOUNCE_MS, clock: Callable[[], datetime] = _utc_now,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sync = sync
        self._pools = pools
        self._clock = clock
        self._job: Worker | None = None
        self._want_sync = False
        self._want_status = False
        self._stopped = False
        # After "log in again" only the user restarts syncing: retrying would only be refused.
        self._paused_for_login = False
        self.status: SyncStatus | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self._on_debounce_timeout)

    @property
    def running(self) -> bool:
        """Whether a sync pass (not a status query) is in flight."""
        return self._job is not None and self._job.name == "sync"

    @property
    def idle(self) -> bool:
        """Whether no job (pass or status query) is in flight."""
        return self._job is None

    @property
    def sync_scheduled(self) -> bool:
        """Whether a pass after a saved change is waiting for the changes to pause."""
        return self._debounce.isActive()

    def start(self) -> None:
        """Sync once now (the user has just logged in), then whenever the timer finds it due."""
        self._timer.start()
        self._request(sync=True)

    def stop(self) -> None:
        """On quit: no new job; the one in flight is cancelled (the pools are drained next)."""
        self._stopped = True
        self._timer.stop()
        self._debounce.stop()
        if self._job is not None:
            self._job.cancel()

    def sync_now(self) -> None:
        """The user asked: sync at once, whatever the backoff says."""
        self._paused_for_login = False
        self._debounce.stop()
        self._request(sync=True)

    def schedule_sync(self) -> None:
        """A reading or decision was saved: sync a moment after the last one."""
        if not self._stopped:
            self._debounce.start()

    def refresh_status(self) -> None:
        self._request(sync=False)

    def sync_if_due(self) -> bool:
        """The timer's check: start a pass unless one runs, a login is needed, or the last
        failure's backoff (``next_attempt_at``) has not passed. True when one was started."""
        if self._job is not None or not self._due(after_change=False):
            return False
        self._request(sync=True)
        return True

    # Scheduling ---------------------------------------------------------------------------

    def _due(self, *, after_change: bool) -> bool:
        if self._paused_for_login:
            return False
        status = self.status
        if status is None or status.next_attempt_at is None:
            return True
        if status.next_attempt_at <= self._clock():
            return True
        # Online, the backoff only concerns changes the server held back, not a new one.
        return after_change and status.online is not False

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.sync_if_due()

    @Slot()
    def _on_debounce_timeout(self) -> None:
        # Not due (offline, backing off): still show the new pending count.
        self._request(sync=self._due(after_change=True))

    def _request(self, *, sync: bool) -> None:
        if self._stopped:
            return
        if self._job is not None:
            self._want_sync = self._want_sync or sync
            self._want_status = self._want_status or not sync
            return
        if sync:
            self._want_sync = False
            worker = Worker(jobs.sync_job(self._sync), name="sync")
            worker.signals.result.connect(self._on_sync_result)
            worker.signals.error.connect(self._on_sync_error)
        else:
            self._want_status = False
            worker = Worker(jobs.sync_status_job(self._sync), name="sync status")
            worker.signals.result.connect(self._on_status_result)
            worker.signals.error.connect(self._on_status_error)
        worker.signals.finished.connect(self._on_job_finished)
        self._job = worker
        self._pools.start(worker, pool=self._pools.io)
        if sync:
            self.sync_started.emit()

    # Answers ------------------------------------------------------------------------------

    @Slot(object)
    def _on_sync_result(self, report: SyncReport) -> None:
        self._paused_for_login = False
        self._update_status(report.status)
        self.sync_finished.emit(report)

    @Slot(object)
    def _on_sync_error(self, error: BaseException) -> None:
        if isinstance(error, SyncError) and error.kind == SyncErrorKind.AUTH:
            self._paused_for_login = True
        self.sync_failed.emit(error)
        # The service recorded a SyncError: show it. Anything else is a defect the status
        # does not know about; the failure stays shown until the next pass.
        self._want_status = self._want_status or isinstance(error, SyncError)

    @Slot(object)
    def _on_status_result(self, status: SyncStatus) -> None:
        self._update_status(status)

    @Slot(object)
    def _on_status_error(self, error: BaseException) -> None:
        self.sync_failed.emit(error)

    @Slot()
    def _on_job_finished(self) -> None:
        self._job = None
        if self._want_sync:
            self._request(sync=True)
        elif self._want_status:
            self._request(sync=False)

    def _update_status(self, status: SyncStatus) -> None:
        self.status = status
        self.status_changed.emit(status)
