"""The PACS tab wired into the main window: retrieved studies are read as exams by the
window's reading session, and an exam's results are sent once the reader has signed it (or,
with automatic sending, once it has been read)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject

from app import jobs
from app.pacs_tab import PacsTab
from app.worker import JobPools
from core.pacs.results import model_heatmaps
from core.pacs.workflow import PacsWorkflow
from core.reading import ReadingService
from core.settings import Settings
from core.store import Store, UserRecord

if TYPE_CHECKING:
    from app.main_window import MainWindow


class _StopOnClose(QObject):
    """Stops the tab's automatic pull when the window closes, before the pools drain."""

    def __init__(self, tab: PacsTab) -> None:
        super().__init__(tab)
        self._tab = tab

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            self._tab.stop()
        return False


def add_pacs_tab(window: MainWindow, *, settings: Settings, store: Store, user: UserRecord,
                 pools: JobPools, reading_service: ReadingService | None) -> PacsTab:
    """Build the PACS tab for ``window`` (last tab) and connect it."""
    classifier = reading_service.classifier if reading_service is not None else None
    tab = PacsTab(flow=PacsWorkflow.from_settings(settings, store), pools=pools,
                  user_id=user.id, heatmaps=model_heatmaps(classifier),
                  model_loaded=classifier is not None,
                  auto_pull_minutes=settings.pacs_auto_pull_minutes, parent=window)
    window.tabs.addTab(tab, "PACS")
    tab.studies_retrieved.connect(window.import_paths)
    window.classified.connect(lambda item: _note_read(tab, item))
    window.decision_signed.connect(tab.note_reading_signed)
    assessments = getattr(window, "assessments", None)
    if assessments is not None and hasattr(assessments, "assessments_signed"):
        assessments.assessments_signed.connect(
            lambda records: [tab.note_exam_signed(e) for e in {r.exam_id for r in records}])
    tab.results_sent.connect(
        lambda sent: window.statusBar().showMessage(f"PACS: {sent.message}", 10_000))
    window.installEventFilter(_StopOnClose(tab))
    return tab


def _note_read(tab: PacsTab, item: jobs.FileDone) -> None:
    tab.note_file_read(item.path, item.error is None and item.scored)


