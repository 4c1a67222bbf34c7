"""The window's side of sync: the status bar indicator and its actions (Sync now, review
conflicts, log in again), passes scheduled after each saved change, and the worklist's sync
column brought up to date after each pass. Sync problems go to the indicator, never to a
storm of dialogs."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QMainWindow

from app import jobs
from app.auth import Authenticator
from app.conflicts_dialog import ConflictsDialog
from app.login_dialog import LoginDialog
from app.sync_backend import SyncBackend
from app.sync_controller import SyncController
from app.sync_indicator import SyncIndicator
from app.worker import JobPools, Worker
from app.worklist_model import WorklistModel
from core.errors import SyncError
from core.store import ReadingRecord, Store, UserRecord

log = logging.getLogger(__name__)


class SyncUi(QObject):
    """Owns the :class:`SyncController` and the :class:`SyncIndicator` it drives (added to
    ``window``'s status bar)."""

    def __init__(self, window: QMainWindow, *, sync: SyncBackend, store: Store,
                 user: UserRecord, pools: JobPools, model: WorklistModel,
                 authenticator: Authenticator | None) -> None:
        super().__init__(window)
        self._window = window
        self._sync = sync
        self._store = store
        self._user = user
        self._pools = pools
        self._model = model
        self._authenticator = authenticator
        self.controller = SyncController(sync, pools, parent=self)
        self.indicator = SyncIndicator(can_log_in=authenticator is not None)
        window.statusBar().addPermanentWidget(self.indicator)
        controller, indicator = self.controller, self.indicator
        indicator.sync_now_action.triggered.connect(controller.sync_now)
        indicator.review_action.triggered.connect(self._on_review_conflicts_triggered)
        indicator.log_in_action.triggered.connect(self._on_log_in_again_triggered)
        controller.sync_started.connect(indicator.show_running)
        controller.status_changed.connect(indicator.show_status)
        controller.sync_failed.connect(self._on_sync_failed)
        controller.sync_finished.connect(self._on_sync_finished)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @Slot(object)
    def schedule_sync(self, _change: object = None) -> None:
        """A change was saved: sync once the saving pauses."""
        self.controller.schedule_sync()

    @Slot(object)
    def _on_sync_failed(self, error: BaseException) -> None:
        # A SyncError is recorded by the service and shown with the status that follows;
        # anything else is a defect (logged by the worker), shown in the indicator only.
        if not isinstance(error, SyncError):
            self.indicator.show_failure(error)

    @Slot(object)
    def _on_sync_finished(self, _report: object) -> None:
        unsynced = [row.reading.id for row in self._model.rows()
                    if row.reading is not None and row.reading.sync_state != "synced"]
        if unsynced:
            worker = Worker(jobs.refresh_readings_job(self._store, unsynced),
                            name="refresh sync states")
            worker.signals.result.connect(self._on_readings_refreshed)
            self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_readings_refreshed(self, readings: list[ReadingRecord]) -> None:
        for reading in readings:
            self._model.update_reading(reading)

    @Slot()
    def _on_review_conflicts_triggered(self) -> None:
        dialog = ConflictsDialog(sync=self._sync, store=self._store, pools=self._pools,
                                 parent=self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.conflict_resolved.connect(self._on_conflict_resolved)
        dialog.open()

    @Slot(int)
    def _on_conflict_resolved(self, _conflict_id: int) -> None:
        self.controller.refresh_status()

    @Slot()
    def _on_log_in_again_triggered(self) -> None:
        if self._authenticator is None:
            return
        dialog = LoginDialog(authenticator=self._authenticator, pools=self._pools,
                             username=self._user.username, parent=self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.logged_in.connect(self._on_logged_in_again)
        dialog.open()

    @Slot(object)
    def _on_logged_in_again(self, user: UserRecord) -> None:
        # The window, its readings and the queue belong to the user who started it: another
        # account's tokens must never send them (the dialog refuses one too).
        if user.username != self._user.username:
            log.warning("Log in again refused: %r is not the signed-in user", user.username)
            return
        self.controller.sync_now()
