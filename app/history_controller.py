"""History and statistics: their searches run on workers, the newest answer is shown."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from app import jobs
from app.history_view import HistoryQuery, HistoryView
from app.stats_view import StatsView
from app.worker import JobPools, Worker
from core.store import Store


class HistoryController(QObject):
    """Feeds the history and statistics views; emits ``failed`` with an error to show."""

    failed = Signal(object)

    def __init__(self, history: HistoryView, stats: StatsView, *, store: Store,
                 pools: JobPools, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._history = history
        self._stats = stats
        self._store = store
        self._pools = pools
        self._job: Worker | None = None
        self._query: HistoryQuery | None = None
        history.query_changed.connect(self._on_query_changed)
        stats.refresh_clicked.connect(self.refresh_statistics)

    def refresh_history(self) -> None:
        self._history.refresh()

    @Slot()
    def refresh_statistics(self) -> None:
        self._start(jobs.statistics_job(self._store), self._on_statistics_loaded,
                    name="statistics")

    def _start(self, job: jobs.Job, on_result: object, *, name: str) -> Worker:
        worker = Worker(job, name=name)
        worker.signals.result.connect(on_result)
        worker.signals.error.connect(self.failed)
        return self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_query_changed(self, query: HistoryQuery) -> None:
        if self._job is not None:
            self._job.cancel()
        self._query = query
        self._job = self._start(jobs.history_job(self._store, query), self._on_found,
                                name="history")

    @Slot(object)
    def _on_found(self, found: jobs.Found) -> None:
        if found.query is self._query:  # older searches answer late: ignore them
            self._history.show_readings(found.readings)

    @Slot(object)
    def _on_statistics_loaded(self, loaded: tuple) -> None:
        self._stats.show_statistics(*loaded)
