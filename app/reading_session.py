"""Reading files into the worklist: one batch at a time, imports queued behind it, cancel,
retry and re-score.

With a model, a batch runs on the inference pool through the reading service (each reading
committed before it is reported); without one, it only checks that each file opens, so it can
be viewed and decided on. Each file's outcome goes into the worklist model as it comes, with
what the file says about its exam and the side a reader said it shows.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from app import jobs
from app.batch_tally import BatchTally
from app.worker import JobPools, Worker
from app.worklist_model import RowStatus, WorklistModel
from core.reading import ReadingService
from core.store import Store, UserRecord


class ReadingSession(QObject):
    """Emits ``classified`` per file read (a :class:`jobs.FileDone`), ``batch_finished`` with
    the number of files read when a batch ends (None when cancelled), ``progress_changed``
    (done, planned), ``running_changed``, ``message`` (text, milliseconds to show it) and
    ``failed`` with an error that is not a file's own."""

    classified = Signal(object)
    batch_finished = Signal(object)
    progress_changed = Signal(int, int)
    running_changed = Signal(bool)
    message = Signal(str, int)
    failed = Signal(object)

    def __init__(self, model: WorklistModel, *, store: Store, user: UserRecord,
                 pools: JobPools, service: ReadingService | None, limits: jobs.Limits,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._store = store
        self._user = user
        self._pools = pools
        self._service = service
        self._limits = limits
        self._batch: Worker | None = None
        self._tally = BatchTally()
        self._waiting: list[tuple[list[str], bool]] = []  # (paths, rescore) behind the batch

    @property
    def running(self) -> bool:
        return self._batch is not None

    def import_paths(self, paths: list[str], *, rescore: bool = False) -> None:
        """Read files and folders (recursively); queued behind a batch that is running.

        A picture the reader already read opens its reading; ``rescore`` scores it again.
        """
        if not paths:
            return
        if self._batch is not None:
            self._waiting.append((paths, rescore))
            self.message.emit("Queued behind the running batch.", 5000)
            return
        if self._service is not None:
            job = jobs.read_batch_job(self._service, paths, user_id=self._user.id,
                                      rescore=rescore, store=self._store)
        else:
            job = jobs.open_batch_job(paths, limits=self._limits, store=self._store)
        worker = Worker(job, name="batch")
        worker.signals.progress.connect(self._on_batch_progress)
        worker.signals.error.connect(self.failed)
        worker.signals.finished.connect(self._on_batch_job_finished)
        self._batch = worker
        self._tally = BatchTally()
        self.progress_changed.emit(0, 0)
        self.running_changed.emit(True)
        pool = self._pools.inference if self._service is not None else self._pools.io
        self._pools.start(worker, pool=pool)

    def retry(self, paths: list[str]) -> None:
        """Read again files that failed or whose batch was cancelled."""
        self.import_paths(paths)

    def rescore(self, paths: list[str]) -> None:
        self.import_paths(paths, rescore=True)

    def cancel(self) -> None:
        if self._batch is not None:
            self._batch.cancel()
            self.message.emit("Cancelling after the image in flight…", 0)

    @Slot(object)
    def _on_batch_progress(self, item: object) -> None:
        if isinstance(item, jobs.BatchPlanned):
            self._model.add_queued(item.paths, sidecars=item.sidecars)
            self._tally.planned = len(item.paths)
            self._update_progress()
            if item.sidecar_problems:  # the folder is grouped as if it had none
                self.message.emit(f"exam.json ignored: {item.sidecar_problems[0]}", 15000)
            return
        assert isinstance(item, jobs.FileDone)
        self._model.apply_result(item.path, reading=item.reading, prediction=item.prediction,
                                 error=item.error, scored=item.scored, facts=item.facts)
        if item.stated is not None:
            self._model.state_sides({item.path: item.stated})
        self._tally.count(item)
        self._update_progress()
        self.classified.emit(item)

    def _update_progress(self) -> None:
        self.progress_changed.emit(self._tally.done, self._tally.planned)
        if self._batch is not None and not self._batch.cancelled:
            following = self._model.first_with_status(RowStatus.QUEUED)
            if following is not None and self._model.count(RowStatus.RUNNING) == 0:
                self._model.set_status(following.path, RowStatus.RUNNING)

    @Slot()
    def _on_batch_job_finished(self) -> None:
        cancelled = self._batch is not None and self._batch.cancelled
        self._batch = None
        self._model.cancel_pending()
        self._model.flush()
        self.running_changed.emit(False)
        self.message.emit(self._tally.summary(cancelled=cancelled), 10000)
        self.batch_finished.emit(None if cancelled else self._tally.done)
        if self._waiting:
            paths, rescore = self._waiting.pop(0)
            self.import_paths(paths, rescore=rescore)
