"""The reader's decision on the image in focus: its history loaded, a decision or amendment
signed in the store, on workers; the panel shows what comes back."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from app import jobs
from app.decision_panel import DecisionDraft, DecisionPanel
from app.worker import JobPools, Worker
from app.worklist_model import RowStatus, WorklistRow
from core.store import Store, UserRecord


class DecisionController(QObject):
    """Emits ``decision_signed`` with the updated reading, ``failed`` with an error to show."""

    decision_signed = Signal(object)
    failed = Signal(object)

    def __init__(self, panel: DecisionPanel, *, store: Store, user: UserRecord,
                 pools: JobPools, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._panel = panel
        self._store = store
        self._user = user
        self._pools = pools
        self._history_job: Worker | None = None
        panel.sign_clicked.connect(self._on_sign_clicked)

    def show_row(self, row: WorklistRow | None) -> None:
        """Decide on ``row``'s reading (only a stored reading can be decided on)."""
        if self._history_job is not None:
            self._history_job.cancel()
        if row is None or row.reading is None:
            self._panel.set_reading(None, message="Only a scored, stored reading can be "
                                    "decided on.")
            return
        self._panel.set_reading(row.reading)
        self._history_job = self._start(jobs.feedback_history_job(self._store, row.reading.id),
                                        self._on_history_loaded, name="decision history")

    def _start(self, job: jobs.Job, on_result: object, *, name: str,
               on_error: object = None) -> Worker:
        worker = Worker(job, name=name)
        worker.signals.result.connect(on_result)
        worker.signals.error.connect(on_error or self.failed)
        return self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_history_loaded(self, history: jobs.History) -> None:
        # A late answer for the image shown before must not land on this one.
        reading = self._panel.reading
        if reading is not None and reading.id == history.reading_id:
            self._panel.set_reading(reading, history=history.decisions)

    @Slot(object)
    def _on_sign_clicked(self, draft: DecisionDraft) -> None:
        self._panel.set_busy(True)
        self._start(jobs.sign_decision_job(
            self._store, user_id=self._user.id, reading_id=draft.reading_id,
            agrees_with_model=draft.agrees_with_model, birads=draft.birads, note=draft.note,
            amends_id=draft.amends_id), self._on_decision_stored, name="sign decision",
            on_error=self._on_decision_failed)

    @Slot(object)
    def _on_decision_stored(self, signed: jobs.Signed) -> None:
        if self._panel.reading and self._panel.reading.id == signed.reading.id:
            self._panel.set_reading(signed.reading, history=signed.history)
        self.decision_signed.emit(signed.reading)

    @Slot(object)
    def _on_decision_failed(self, error: BaseException) -> None:
        self._panel.set_busy(False)
        reading = self._panel.reading
        if reading is not None:  # reload: someone may have amended it meanwhile
            self.show_row(WorklistRow(path=reading.source_path, status=RowStatus.DONE,
                                      reading=reading))
        self.failed.emit(error)
