"""The main window: worklist, viewer, result and decision; history and statistics tabs.

It owns no service: the composition root (``app/main.py``) passes in the store, the reading
service (None without a model), the sync service (None without a server), the signed-in user,
the authenticator they logged in with (for "Log in again…" after the server login expires)
and the worker pools. Everything slow runs on a worker; the window only reacts to the records
they send back. With a server, the status bar's sync indicator and the Sync menu show and
drive sync (:class:`app.sync_controller.SyncController`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import jobs
from app.about_dialog import AboutDialog
from app.auth import Authenticator
from app.batch_tally import BatchTally
from app.conflicts_dialog import ConflictsDialog
from app.decision_panel import DecisionDraft, DecisionPanel
from app.errors import show_error
from app.history_view import HistoryQuery, HistoryView
from app.login_dialog import LoginDialog
from app.result_panel import NO_MODEL_TEXT, RESEARCH_NOTICE, ResultPanel, result_for
from app.settings_dialog import SettingsDialog
from app.stats_view import StatsView
from app.sync_backend import SyncBackend
from app.sync_controller import SyncController
from app.sync_indicator import SyncIndicator
from app.theme import BANNER_STYLE, RESEARCH_STYLE
from app.viewer_controls import ViewerControls
from app.worker import JobPools, Worker
from app.worklist import Worklist
from app.worklist_model import RowStatus, WorklistModel, WorklistRow
from core.errors import SyncError
from core.inference.classifier import ModelInfo
from core.reading import ReadingService
from core.settings import Settings
from core.store import ReadingRecord, Store, UserRecord

log = logging.getLogger(__name__)

READING_TAB, HISTORY_TAB, STATS_TAB = range(3)
PREFERRED_SIZE = (1500, 920)


class MainWindow(QMainWindow):
    """Emits ``classified`` per file read (a :class:`jobs.FileDone`), ``batch_finished`` with
    the number of files read when a batch ends (None when cancelled), ``decision_signed`` with
    the updated reading."""

    classified = Signal(object)
    batch_finished = Signal(object)
    decision_signed = Signal(object)

    def __init__(self, *, settings: Settings, store: Store, user: UserRecord, pools: JobPools,
                 reading_service: ReadingService | None, model_info: ModelInfo | None,
                 model_error: str | None = None, config_file: Path | None = None,
                 sync: SyncBackend | None = None,
                 authenticator: Authenticator | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._store = store
        self._user = user
        self._pools = pools
        self._service = reading_service
        self._info = model_info
        self._model_error = model_error
        self._config_file = config_file
        self._sync = sync
        self._authenticator = authenticator
        self.sync_controller = None if sync is None else SyncController(sync, pools, parent=self)
        self.sync_indicator: SyncIndicator | None = None
        self._limits = jobs.Limits(max_file_bytes=settings.max_file_bytes,
                                   max_pixels=settings.max_pixels)
        self._batch: Worker | None = None
        self._tally = BatchTally()
        self._view_peak: tuple[str, tuple[float, float] | None] = ("", None)
        self._waiting: list[tuple[list[str], bool]] = []  # (paths, rescore) behind the batch
        self._view_job: Worker | None = None
        self._history_job: Worker | None = None
        self._history_query: HistoryQuery | None = None
        self._feedback_job: Worker | None = None
        self._current: WorklistRow | None = None
        self.setWindowTitle(f"Mammo Workstation — {user.display_name}")
        self.setAcceptDrops(True)
        self._resize_within_screen(*PREFERRED_SIZE)
        self._build_widgets(model_error)
        self._build_actions()
        self._connect()
        self._start(jobs.recent_readings_job(store, user_id=user.id), self._on_recent_loaded,
                    name="recent readings")
        if self.sync_controller is not None:
            self.sync_controller.start()

    # Construction -------------------------------------------------------------------------

    def show_on_screen(self) -> None:
        """Show the window maximised where the screen has room for its preferred size (a
        reading workstation); on a smaller screen, as large as the free area allows."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        free = screen.availableGeometry() if screen is not None else None
        width, height = PREFERRED_SIZE
        if free is not None and free.width() >= width and free.height() >= height:
            self.showMaximized()
        else:
            self._resize_within_screen(*PREFERRED_SIZE)
            self.show()

    def _resize_within_screen(self, width: int, height: int) -> None:
        """The preferred size, but never larger than the screen's free area (a 1366x768 laptop
        would otherwise get a window whose side panel lies off screen)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, free.width()), min(height, free.height())
        self.resize(width, height)

    def _build_widgets(self, model_error: str | None) -> None:
        scored = self._service is not None
        # The loader's own reason (which file fails its hash, what to do), not a guess.
        self.banner = QLabel(model_error or NO_MODEL_TEXT)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.setVisible(not scored)
        self.worklist_model = WorklistModel(self, local_only=self._sync is None)
        self.worklist = Worklist(self.worklist_model, can_rescore=scored)
        self.controls = ViewerControls(heatmap_available=scored)
        self.viewer = self.controls.viewer
        self.result_panel = ResultPanel(
            model_installed=scored, performance=self._info.performance if self._info else "")
        self.decision_panel = DecisionPanel()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.result_panel)
        side_layout.addWidget(self.decision_panel)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.worklist)
        splitter.addWidget(self.controls)
        splitter.addWidget(side)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([660, 720, 340])
        self.history_view = HistoryView()
        self.stats_view = StatsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(splitter, "Reading")
        self.tabs.addTab(self.history_view, "History")
        self.tabs.addTab(self.stats_view, "Statistics")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        research = QLabel(RESEARCH_NOTICE)
        research.setStyleSheet(RESEARCH_STYLE)
        model = self._info.model_id if self._info else "no model"
        link = "" if self._sync is not None else " · local only (no server configured)"
        self.statusBar().addPermanentWidget(QLabel(f"{self._user.username} · {model}{link}"))
        if self._sync is not None:
            self.sync_indicator = SyncIndicator(can_log_in=self._authenticator is not None)
            self.statusBar().addPermanentWidget(self.sync_indicator)
        self.statusBar().addPermanentWidget(research)

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self._action(file_menu, "Import &files…", QKeySequence.StandardKey.Open,
                     self._on_import_files_triggered)
        self._action(file_menu, "Import f&older…", "Ctrl+Shift+O",
                     self._on_import_folder_triggered)
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", "Ctrl+,", self._on_settings_triggered)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        view = menu.addMenu("&View")
        self._action(view, "&Next image", "N", lambda: self.worklist.select_next(1))
        self._action(view, "&Previous image", "P", lambda: self.worklist.select_next(-1))
        self._action(view, "&Heatmap", "H", self._on_heatmap_triggered)
        self._action(view, "&Invert", "I", self.viewer.toggle_invert)
        self._action(view, "&Reset view", "R", self.viewer.reset_view)
        self._action(view, "Next &window preset", "W", self.controls.next_preset)
        self._action(view, "More heatmap opacity", "]", lambda: self.controls.step_opacity(1))
        self._action(view, "Less heatmap opacity", "[", lambda: self.controls.step_opacity(-1))
        decide = menu.addMenu("&Decision")
        self._action(decide, "&Agree with model", "A", lambda: self.decision_panel.set_agrees(True))
        self._action(decide, "&Disagree with model", "D",
                     lambda: self.decision_panel.set_agrees(False))
        self._action(decide, "&Sign", "Ctrl+Return", self.decision_panel.sign.click)
        if self.sync_indicator is not None:
            sync_menu = menu.addMenu("S&ync")
            sync_menu.addAction(self.sync_indicator.sync_now_action)
            sync_menu.addAction(self.sync_indicator.review_action)
            sync_menu.addAction(self.sync_indicator.log_in_action)
        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "&About", None, self._on_about_triggered)

    def _action(self, menu: object, text: str, shortcut: object, slot: object) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
        action.triggered.connect(slot)
        menu.addAction(action)  # type: ignore[attr-defined]
        return action

    def _connect(self) -> None:
        self.worklist.row_selected.connect(self._on_row_selected)
        self.worklist.cancel_clicked.connect(self._on_cancel_clicked)
        self.worklist.rescore_requested.connect(self._on_rescore_requested)
        self.decision_panel.sign_clicked.connect(self._on_sign_clicked)
        self.history_view.query_changed.connect(self._on_history_query_changed)
        self.history_view.reading_opened.connect(self._on_reading_opened)
        self.stats_view.refresh_clicked.connect(self._on_stats_refresh_clicked)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        if self.sync_controller is not None and self.sync_indicator is not None:
            controller, indicator = self.sync_controller, self.sync_indicator
            indicator.sync_now_action.triggered.connect(controller.sync_now)
            indicator.review_action.triggered.connect(self._on_review_conflicts_triggered)
            indicator.log_in_action.triggered.connect(self._on_log_in_again_triggered)
            controller.sync_started.connect(indicator.show_running)
            controller.status_changed.connect(indicator.show_status)
            controller.sync_failed.connect(self._on_sync_failed)
            controller.sync_finished.connect(self._on_sync_finished)
            self.classified.connect(self._on_change_saved)
            self.decision_signed.connect(self._on_change_saved)

    def _start(self, job: jobs.Job, on_result: object, *, name: str, inference: bool = False,
               on_error: object = None) -> Worker:
        worker = Worker(job, name=name)
        worker.signals.result.connect(on_result)
        worker.signals.error.connect(on_error or self._on_job_failed)
        pool = self._pools.inference if inference else self._pools.io
        return self._pools.start(worker, pool=pool)

    # Import and batch ---------------------------------------------------------------------

    @property
    def batch_running(self) -> bool:
        return self._batch is not None

    def import_paths(self, paths: list[str], *, rescore: bool = False) -> None:
        """Read files and folders (recursively); queued behind a batch that is running.

        A picture the reader already read opens its reading; ``rescore`` scores it again.
        """
        if not paths:
            return
        if self._batch is not None:
            self._waiting.append((paths, rescore))
            self.statusBar().showMessage("Queued behind the running batch.", 5000)
            return
        if self._service is not None:
            job = jobs.read_batch_job(self._service, paths, user_id=self._user.id,
                                      rescore=rescore)
        else:
            job = jobs.open_batch_job(paths, limits=self._limits)
        worker = Worker(job, name="batch")
        worker.signals.progress.connect(self._on_batch_progress)
        worker.signals.error.connect(self._on_job_failed)
        worker.signals.finished.connect(self._on_batch_job_finished)
        self._batch = worker
        self._tally = BatchTally()
        self.worklist.set_progress(0, 0)
        self.worklist.set_batch_running(True)
        pool = self._pools.inference if self._service is not None else self._pools.io
        self._pools.start(worker, pool=pool)

    @Slot(object)
    def _on_batch_progress(self, item: object) -> None:
        if isinstance(item, jobs.BatchPlanned):
            self.worklist_model.add_queued(item.paths)
            self._tally.planned = len(item.paths)
            self._update_batch_progress()
            return
        assert isinstance(item, jobs.FileDone)
        self.worklist_model.apply_result(item.path, reading=item.reading,
                                         prediction=item.prediction, error=item.error,
                                         scored=item.scored)
        self._tally.count(item)
        self._update_batch_progress()
        if self._current is None and item.error is None:
            self.worklist.select_path(item.path)
        elif self._current is not None and self._current.path == item.path:
            self._show_row(self.worklist_model.row_for(item.path))
        self.classified.emit(item)

    def _update_batch_progress(self) -> None:
        self.worklist.set_progress(self._tally.done, self._tally.planned)
        if self._batch is not None and not self._batch.cancelled:
            following = self.worklist_model.first_with_status(RowStatus.QUEUED)
            if following is not None and self.worklist_model.count(RowStatus.RUNNING) == 0:
                self.worklist_model.set_status(following.path, RowStatus.RUNNING)

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self._batch is not None:
            self._batch.cancel()
            self.worklist.cancel_button.setEnabled(False)
            self.statusBar().showMessage("Cancelling after the image in flight…")

    @Slot()
    def _on_batch_job_finished(self) -> None:
        cancelled = self._batch is not None and self._batch.cancelled
        self._batch = None
        self.worklist_model.cancel_pending()
        self.worklist.set_batch_running(False)
        self.statusBar().showMessage(self._tally.summary(cancelled=cancelled), 10000)
        self.batch_finished.emit(None if cancelled else self._tally.done)
        if self._waiting:
            paths, rescore = self._waiting.pop(0)
            self.import_paths(paths, rescore=rescore)

    @Slot(list)
    def _on_rescore_requested(self, paths: list[str]) -> None:
        self.import_paths(paths, rescore=True)

    @Slot()
    def _on_import_files_triggered(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import images", "",
            "Mammograms (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff *.pgm *.gz);;"
            "All files (*)")
        self.import_paths(files)

    @Slot()
    def _on_import_folder_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder (with its sub-folders)")
        if folder:
            self.import_paths([folder])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        self.import_paths(paths)
        event.acceptProposedAction()

    # The image shown ----------------------------------------------------------------------

    @Slot(object)
    def _on_row_selected(self, row: WorklistRow) -> None:
        self._show_row(row)

    def _show_row(self, row: WorklistRow | None) -> None:
        self._current = row
        if row is None:
            return
        self._update_result(row)
        self._update_decision(row)
        self._update_viewer(row)

    def _update_result(self, row: WorklistRow) -> None:
        if self._service is None and row.reading is None:
            self.result_panel.show_result(None, status=NO_MODEL_TEXT)
            return
        status = {RowStatus.ERROR: f"Not read: {row.error}",
                  RowStatus.QUEUED: "Waiting to be read…", RowStatus.RUNNING: "Reading…",
                  RowStatus.CANCELLED: "Not read: the batch was cancelled."}.get(row.status, "")
        self.result_panel.show_result(result_for(row, self._info), status=status)

    def _update_decision(self, row: WorklistRow) -> None:
        if self._feedback_job is not None:
            self._feedback_job.cancel()
        if row.reading is None:
            self.decision_panel.set_reading(None, message="Only a scored, stored reading can "
                                            "be decided on.")
            return
        self.decision_panel.set_reading(row.reading)
        self._feedback_job = self._start(jobs.feedback_history_job(self._store, row.reading.id),
                                         self._on_feedback_loaded, name="decision history")

    @Slot(object)
    def _on_feedback_loaded(self, history: jobs.History) -> None:
        # A late answer for the image shown before must not land on this one.
        reading = self.decision_panel.reading
        if reading is not None and reading.id == history.reading_id:
            self.decision_panel.set_reading(reading, history=history.decisions)

    def _update_viewer(self, row: WorklistRow) -> None:
        if self._view_job is not None:
            self._view_job.cancel()
        self.viewer.set_message(f"Opening {Path(row.path).name}…")
        path, reading = row.path, row.reading
        peak = None
        if reading is not None and reading.heatmap_peak_x is not None:
            peak = (reading.heatmap_peak_x, reading.heatmap_peak_y or 0.0)
        elif row.prediction is not None:
            peak = row.prediction.heatmap_peak

        self._view_peak = (path, peak)
        self._view_job = self._start(jobs.load_view_job(path, row.prediction, limits=self._limits),
                                     self._on_view_loaded, name="open image",
                                     on_error=self._on_view_failed)

    @Slot(object)
    def _on_view_loaded(self, data: jobs.ViewData) -> None:
        path, peak = self._view_peak
        if data.path == path and self._current is not None and self._current.path == path:
            self.viewer.set_image(data.display, heatmap=data.heatmap, peak=peak)

    @Slot(object)
    def _on_view_failed(self, error: BaseException) -> None:
        # Per-file problems are shown in place, never as a dialog per image.
        self.viewer.set_message(f"Cannot show this image: {jobs.error_text(error)}")

    @Slot()
    def _on_heatmap_triggered(self) -> None:
        if self._service is None:
            self.statusBar().showMessage(NO_MODEL_TEXT, 5000)
        elif not self.viewer.has_heatmap:
            self.statusBar().showMessage(
                "No heatmap for this image: heatmaps exist for images read in this session.",
                5000)
        self.viewer.toggle_heatmap()

    # Decisions ----------------------------------------------------------------------------

    @Slot(object)
    def _on_sign_clicked(self, draft: DecisionDraft) -> None:
        self.decision_panel.set_busy(True)
        self._start(jobs.sign_decision_job(
            self._store, user_id=self._user.id, reading_id=draft.reading_id,
            agrees_with_model=draft.agrees_with_model, birads=draft.birads, note=draft.note,
            amends_id=draft.amends_id), self._on_decision_stored, name="sign decision",
            on_error=self._on_decision_failed)

    @Slot(object)
    def _on_decision_stored(self, signed: jobs.Signed) -> None:
        self.worklist_model.update_reading(signed.reading)
        if self.decision_panel.reading and self.decision_panel.reading.id == signed.reading.id:
            self.decision_panel.set_reading(signed.reading, history=signed.history)
        if self._current is not None:  # its row may list the reading under another name
            self._current = self.worklist_model.row_for(self._current.path)
        self.statusBar().showMessage("Decision signed.", 5000)
        self.decision_signed.emit(signed.reading)

    @Slot(object)
    def _on_decision_failed(self, error: BaseException) -> None:
        self.decision_panel.set_busy(False)
        reading = self.decision_panel.reading
        if reading is not None:  # reload: someone may have amended it meanwhile
            self._update_decision(WorklistRow(path=reading.source_path, status=RowStatus.DONE,
                                              reading=reading))
        show_error(self, error)

    # History, statistics, dialogs ---------------------------------------------------------

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        if index == HISTORY_TAB:
            self.history_view.refresh()
        elif index == STATS_TAB:
            self._on_stats_refresh_clicked()

    @Slot(object)
    def _on_history_query_changed(self, query: HistoryQuery) -> None:
        if self._history_job is not None:
            self._history_job.cancel()
        self._history_query = query
        self._history_job = self._start(jobs.history_job(self._store, query),
                                        self._on_history_found, name="history")

    @Slot(object)
    def _on_history_found(self, found: jobs.Found) -> None:
        if found.query is self._history_query:  # older searches answer late: ignore them
            self.history_view.show_readings(found.readings)

    @Slot(object)
    def _on_reading_opened(self, reading: ReadingRecord) -> None:
        self.worklist_model.add_stored([reading])
        self.worklist_model.update_reading(reading)
        self.tabs.setCurrentIndex(READING_TAB)
        self.worklist.select_path(reading.source_path)

    @Slot()
    def _on_stats_refresh_clicked(self) -> None:
        self._start(jobs.statistics_job(self._store), self._on_statistics_loaded,
                    name="statistics")

    @Slot(object)
    def _on_statistics_loaded(self, loaded: tuple) -> None:
        self.stats_view.show_statistics(*loaded)

    @Slot(object)
    def _on_recent_loaded(self, readings: list[ReadingRecord]) -> None:
        self.worklist_model.add_stored(readings)

    @Slot()
    def _on_settings_triggered(self) -> None:
        if self._config_file is None:
            return
        dialog = SettingsDialog(self._settings, config_file=str(self._config_file), parent=self)
        if dialog.exec():
            self._start(jobs.save_settings_job(self._config_file, dialog.changes()),
                        self._on_settings_saved, name="save settings")

    @Slot(object)
    def _on_settings_saved(self, path: Path) -> None:
        self.statusBar().showMessage(f"Settings saved to {path}; they apply at the next start.",
                                     10000)

    @Slot()
    def _on_about_triggered(self) -> None:
        folder = self._info.folder if self._info else None
        self._start(jobs.model_card_job(folder), self._on_model_card_loaded, name="model card")

    @Slot(object)
    def _on_model_card_loaded(self, card: str | None) -> None:
        AboutDialog(info=self._info, model_card=card, model_error=self._model_error,
                    parent=self).open()

    @Slot(object)
    def _on_job_failed(self, error: BaseException) -> None:
        show_error(self, error)

    # Sync ---------------------------------------------------------------------------------

    @Slot(object)
    def _on_change_saved(self, _item: object) -> None:
        if self.sync_controller is not None:
            self.sync_controller.schedule_sync()

    @Slot(object)
    def _on_sync_failed(self, error: BaseException) -> None:
        # A SyncError is recorded by the service and shown with the status that follows;
        # anything else is a defect (logged by the worker), shown in the indicator only.
        if self.sync_indicator is not None and not isinstance(error, SyncError):
            self.sync_indicator.show_failure(error)

    @Slot(object)
    def _on_sync_finished(self, _report: object) -> None:
        unsynced = [row.reading.id for row in self.worklist_model.rows()
                    if row.reading is not None and row.reading.sync_state != "synced"]
        if unsynced:
            self._start(jobs.refresh_readings_job(self._store, unsynced),
                        self._on_readings_refreshed, name="refresh sync states")

    @Slot(object)
    def _on_readings_refreshed(self, readings: list[ReadingRecord]) -> None:
        for reading in readings:
            self.worklist_model.update_reading(reading)
        if self._current is not None:
            self._current = self.worklist_model.row_for(self._current.path)

    @Slot()
    def _on_review_conflicts_triggered(self) -> None:
        if self._sync is None:
            return
        dialog = ConflictsDialog(sync=self._sync, store=self._store, pools=self._pools,
                                 parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.conflict_resolved.connect(self._on_conflict_resolved)
        dialog.open()

    @Slot(int)
    def _on_conflict_resolved(self, _conflict_id: int) -> None:
        if self.sync_controller is not None:
            self.sync_controller.refresh_status()

    @Slot()
    def _on_log_in_again_triggered(self) -> None:
        if self._authenticator is None:
            return
        dialog = LoginDialog(authenticator=self._authenticator, pools=self._pools,
                             username=self._user.username, parent=self)
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
        if self.sync_controller is not None:
            self.sync_controller.sync_now()

    # Quit ---------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        # Every reading made so far is already committed; cancel the rest and let the
        # workers finish their current step before the store is closed by main().
        if self._batch is not None:
            self.statusBar().showMessage("Stopping the batch…")
        if self.sync_controller is not None:
            self.sync_controller.stop()
        self._pools.shutdown()
        event.accept()
