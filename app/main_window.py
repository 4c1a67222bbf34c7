"""The main window: the Reading tab (worklist of exams, hanging, result, decisions), History,
Statistics and PACS.

It owns no service and does no work itself: the composition root (``app/main.py``) passes in
the store, the reading service (None without a model), the sync service (None without a
server), the signed-in user, the authenticator they logged in with (for "Log in again…" after
the server login expires) and the worker pools, and the window composes the parts that own
their jobs and signals: :class:`~app.reading_session.ReadingSession` (import, batches,
retry, re-score), :class:`~app.exam_controller.ExamController` (split, merge, sides),
:class:`~app.hanging_controller.HangingController` (pictures into the hanging),
:class:`~app.exam_focus.ExamFocus` (what follows the exam and image shown),
:class:`~app.decision_controller.DecisionController`,
:class:`~app.assessment_controller.AssessmentController` (per breast, report),
:class:`~app.history_controller.HistoryController` and, with a server,
:class:`~app.sync_ui.SyncUi` (status bar indicator, Sync menu, conflicts, log in again).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from app import jobs
from app.about_dialog import AboutDialog
from app.agreement_ui import AgreementUi
from app.assessment_controller import AssessmentController
from app.auth import Authenticator
from app.decision_controller import DecisionController
from app.errors import show_error
from app.exam_controller import ExamController
from app.exam_focus import ExamFocus
from app.hanging_controller import HangingController
from app.history_controller import HistoryController
from app.history_view import HistoryView
from app.menus import build_menus
from app.model_indicator import ModelIndicator
from app.model_switcher import ModelSwitcher
from app.outcome_dialog import OutcomeDialog
from app.pacs_ui import add_pacs_tab
from app.reading_session import ReadingSession
from app.reading_tab import ReadingTab
from app.result_panel import NO_MODEL_TEXT, RESEARCH_NOTICE
from app.settings_dialog import SettingsDialog
from app.stats_view import StatsView
from app.sync_backend import SyncBackend
from app.sync_ui import SyncUi
from app.theme import BANNER_STYLE, RESEARCH_STYLE
from app.viewer import ImageViewer
from app.worker import JobPools, Worker
from app.worklist_model import WorklistModel
from core.inference.classifier import ModelInfo
from core.modelstore import ModelRollout
from core.reading import ReadingService
from core.report import ReportLimits
from core.settings import Settings
from core.store import ReadingRecord, Store, UserRecord

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
                 authenticator: Authenticator | None = None,
                 rollout: ModelRollout | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._store = store
        self._user = user
        self._pools = pools
        self._service = reading_service
        self._info = model_info
        self._model_error = model_error
        self._config_file = config_file
        limits = jobs.Limits(max_file_bytes=settings.max_file_bytes,
                             max_pixels=settings.max_pixels)
        self.setWindowTitle(f"Mammo Workstation — {user.display_name}")
        self.setAcceptDrops(True)
        self._resize_within_screen(*PREFERRED_SIZE)
        self._build_widgets(model_error, local_only=sync is None)
        self.session = ReadingSession(self.worklist_model, store=store, user=user, pools=pools,
                                      service=reading_service, limits=limits, parent=self)
        self.exams = ExamController(self.worklist_model, store=store, user=user, pools=pools,
                                    parent=self)
        self.hanging = HangingController(self.controls.hanging, pools=pools, limits=limits,
                                         parent=self)
        self.decisions = DecisionController(self.decision_panel, store=store, user=user,
                                            pools=pools, parent=self)
        self.assessments = AssessmentController(
            self.breast_panel, store=store, user=user, pools=pools,
            blinded=settings.blinded_first_read,
            model_id=model_info.model_id if model_info else None,
            limits=ReportLimits(max_file_bytes=settings.max_file_bytes,
                                max_pixels=settings.max_pixels), parent=self)
        self.assessments.attach_hanging(self.controls.hanging)
        self.focus = ExamFocus(self.reading, hanging=self.hanging, decisions=self.decisions,
                               assessments=self.assessments, exams=self.exams,
                               info=model_info, scored=reading_service is not None,
                               parent=self)
        self.records = HistoryController(self.history_view, self.stats_view, store=store,
                                         pools=pools, parent=self)
        self.sync_ui = None if sync is None else SyncUi(
            self, sync=sync, store=store, user=user, pools=pools, model=self.worklist_model,
            authenticator=authenticator)
        self.sync_controller = self.sync_ui.controller if self.sync_ui else None
        self.sync_indicator = self.sync_ui.indicator if self.sync_ui else None
        self.agreement = None if sync is None or not hasattr(sync, "agreement") else AgreementUi(
            self.stats_view.agreement_view, source=sync, pools=pools,  # type: ignore[arg-type]
            parent=self)
        if self.agreement is None:
            self.stats_view.agreement_view.show_unavailable(
                "The department's reader-model agreement comes from the central server "
                "(server_url in the settings).")
        else:
            self.stats_view.refresh_clicked.connect(self.agreement.refresh)
        self.models = None if rollout is None or self.sync_ui is None else ModelSwitcher(
            rollout=rollout, settings=settings, service=reading_service, pools=pools,
            is_idle=lambda: not self.session.running, parent=self)
        self.pacs_tab = add_pacs_tab(self, settings=settings, store=store, user=user,
                                     pools=pools, reading_service=reading_service)
        build_menus(self)
        self._connect()
        self._start(jobs.recent_readings_job(store, user_id=user.id), self._on_recent_loaded,
                    name="recent readings")
        if self.sync_ui is not None:
            self.sync_ui.start()

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

    def _build_widgets(self, model_error: str | None, *, local_only: bool) -> None:
        scored = self._service is not None
        # The loader's own reason (which file fails its hash, what to do), not a guess.
        self.banner = QLabel(model_error or NO_MODEL_TEXT)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.setVisible(not scored)
        self.reading = ReadingTab(scored=scored, local_only=local_only,
                                  performance=self._info.performance if self._info else "")
        self.worklist_model, self.worklist = self.reading.worklist_model, self.reading.worklist
        self.controls, self.result_panel = self.reading.controls, self.reading.result_panel
        self.decision_panel = self.reading.decision_panel
        self.breast_panel = self.reading.breast_panel
        self.history_view = HistoryView()
        self.stats_view = StatsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.reading, "Reading")
        self.tabs.addTab(self.history_view, "History")
        self.tabs.addTab(self.stats_view, "Statistics")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        link = " · local only (no server configured)" if local_only else ""
        self.statusBar().addPermanentWidget(QLabel(f"{self._user.username}{link}"))
        self.model_indicator = ModelIndicator(self._info)
        self.statusBar().addPermanentWidget(self.model_indicator)

    def _connect(self) -> None:
        research = QLabel(RESEARCH_NOTICE)
        research.setStyleSheet(RESEARCH_STYLE)
        self.statusBar().addPermanentWidget(research)  # after the sync indicator: rightmost
        worklist, session, exams = self.worklist, self.session, self.exams
        worklist.cancel_clicked.connect(self._on_cancel_clicked)
        worklist.rescore_requested.connect(session.rescore)
        worklist.retry_requested.connect(session.retry)
        worklist.split_requested.connect(exams.request_split)
        worklist.merge_requested.connect(exams.request_merge)
        worklist.side_requested.connect(exams.request_sides)
        session.classified.connect(self.focus.on_classified)
        session.classified.connect(self.classified)
        session.batch_finished.connect(self.batch_finished)
        session.progress_changed.connect(worklist.set_progress)
        session.running_changed.connect(worklist.set_batch_running)
        session.message.connect(self.statusBar().showMessage)
        exams.edited.connect(lambda text: self.statusBar().showMessage(text, 8000))
        for failing in (session.failed, self.decisions.failed, self.records.failed):
            failing.connect(self._on_job_failed)
        if self.models is not None and self.sync_controller is not None:
            self.sync_controller.sync_finished.connect(self.models.on_sync_finished)
            session.batch_finished.connect(self.models.switch_when_idle)
            self.models.switched.connect(self._on_model_switched)
            self.models.waiting.connect(self.model_indicator.show_notice)
            self.models.refused.connect(self._on_model_refused)
        self.decisions.decision_signed.connect(self._on_decision_stored)
        self.assessments.assessments_signed.connect(self._on_assessments_signed)
        if self._settings.blinded_first_read:  # no score in the list before the first read
            for column in ("Score", "Class"):
                self.worklist.tree.setColumnHidden(WorklistModel.COLUMNS.index(column), True)
        self.history_view.reading_opened.connect(self._on_reading_opened)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        if self.sync_ui is not None:
            self.classified.connect(self.sync_ui.schedule_sync)
            self.decision_signed.connect(self.sync_ui.schedule_sync)

    def _start(self, job: jobs.Job, on_result: object, *, name: str) -> Worker:
        worker = Worker(job, name=name)
        worker.signals.result.connect(on_result)
        worker.signals.error.connect(self._on_job_failed)
        return self._pools.start(worker, pool=self._pools.io)

    # Import -------------------------------------------------------------------------------

    @property
    def viewer(self) -> ImageViewer:
        """The hanging's active cell."""
        return self.controls.viewer

    @property
    def batch_running(self) -> bool:
        return self.session.running

    def import_paths(self, paths: list[str], *, rescore: bool = False) -> None:
        """Read files and folders (recursively); queued behind a batch that is running."""
        self.session.import_paths(paths, rescore=rescore)

    def import_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import images", "",
            "Mammograms (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff *.pgm *.gz);;"
            "All files (*)")
        self.import_paths(files)

    def import_folder(self) -> None:
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

    @Slot()
    def _on_cancel_clicked(self) -> None:
        self.worklist.cancel_button.setEnabled(False)
        self.session.cancel()

    # The exam shown (ExamFocus keeps the panels on it) --------------------------------------

    @Slot()
    def toggle_heatmap(self) -> None:
        if self._service is None:
            self.statusBar().showMessage(NO_MODEL_TEXT, 5000)
        elif not self.viewer.has_heatmap:
            self.statusBar().showMessage(
                "No heatmap for this image: heatmaps exist for images read in this session.",
                5000)
        self.controls.toggle_heatmap()

    @Slot(object)
    def _on_assessments_signed(self, signed: list) -> None:
        if signed and self.hanging.entry is not None:
            self.worklist_model.set_signed(self.hanging.entry.id)
        self.statusBar().showMessage("Assessment signed." if signed else "Nothing changed.",
                                     5000)

    @Slot(object)
    def _on_decision_stored(self, reading: ReadingRecord) -> None:
        self.worklist_model.update_reading(reading)
        self.statusBar().showMessage("Decision signed.", 5000)
        self.decision_signed.emit(reading)

    # History, statistics, dialogs ---------------------------------------------------------

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        if index == HISTORY_TAB:
            self.records.refresh_history()
        elif index == STATS_TAB:
            self.records.refresh_statistics()
            if self.agreement is not None:
                self.agreement.refresh()

    @Slot(object)
    def _on_reading_opened(self, reading: ReadingRecord) -> None:
        self.worklist_model.add_stored([reading], identities={
            reading.source_path: reading.identity})
        self.worklist_model.update_reading(reading)
        self.worklist_model.flush()
        self.tabs.setCurrentIndex(READING_TAB)
        self.worklist.select_path(reading.source_path)

    @Slot(object)
    def _on_recent_loaded(self, stored: jobs.Stored) -> None:
        self.worklist_model.add_stored(stored.readings, identities={
            r.source_path: r.identity for r in stored.readings})
        self.worklist_model.state_sides(stored.stated)

    def open_settings(self) -> None:
        if self._config_file is None:
            return
        dialog = SettingsDialog(self._settings, config_file=str(self._config_file), parent=self,
                                pools=self._pools)
        if dialog.exec():
            self._start(jobs.save_settings_job(self._config_file, dialog.changes()),
                        self._on_settings_saved, name="save settings")

    @Slot(object)
    def _on_settings_saved(self, path: Path) -> None:
        self.statusBar().showMessage(f"Settings saved to {path}; they apply at the next start.",
                                     10000)

    def open_about(self) -> None:
        folder = self._info.folder if self._info else None
        self._start(jobs.model_card_job(folder), self._on_model_card_loaded, name="model card")

    @Slot(object)
    def _on_model_card_loaded(self, card: str | None) -> None:
        AboutDialog(info=self._info, model_card=card, model_error=self._model_error,
                    parent=self).open()

    def record_outcome(self) -> None:
        """Ask for the outcome of the exam shown, per breast, and keep it (then sync it)."""
        entry = self.hanging.entry
        if entry is None:
            self.statusBar().showMessage("Open an exam first to record its outcome.", 8000)
            return
        dialog = OutcomeDialog(entry, user_id=self._user.id, parent=self)
        if dialog.exec() and dialog.outcomes():
            store, news = self._store, dialog.outcomes()
            self._start(lambda _c, _r: store.outcomes.record(news), self._on_outcomes_recorded,
                        name="record outcome")

    @Slot(object)
    def _on_outcomes_recorded(self, recorded: list) -> None:
        where = "; it goes to the server with the next sync" if self.sync_ui else ""
        self.statusBar().showMessage(f"Outcome recorded for {len(recorded)} breast(s){where}.",
                                     8000)
        if self.sync_ui is not None:
            self.sync_ui.schedule_sync()

    @Slot(object)
    def _on_model_switched(self, info: ModelInfo) -> None:
        self._info = info
        self.focus.use_model(info)
        self.assessments.use_model(info.model_id)
        self.result_panel.performance.setText(f"Measured on {info.performance}")
        self.result_panel.performance.setVisible(True)
        self.model_indicator.show_model(info)
        self.statusBar().showMessage(
            f"Now reading with model {info.model_id} ({info.model_sha256[:12]}) from the server.",
            15000)

    @Slot(str)
    def _on_model_refused(self, text: str) -> None:
        # Said in the status bar, not in a dialog: the reader can go on with the model in use.
        self.model_indicator.show_notice(text)
        self.statusBar().showMessage(text, 30000)

    @Slot(object)
    def _on_job_failed(self, error: BaseException) -> None:
        show_error(self, error)

    # Quit ---------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        # Every reading made so far is already committed; cancel the rest and let the
        # workers finish their current step before the store is closed by main().
        if self.session.running:
            self.statusBar().showMessage("Stopping the batch…")
        if self.sync_ui is not None:
            self.sync_ui.stop()
        self._pools.shutdown()
        event.accept()
