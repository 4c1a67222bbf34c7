"""The one worker type: a core function run on a QThreadPool, talking back through signals.

Workers never touch widgets. A job is a plain function ``job(cancel, report) -> value`` that
checks ``cancel`` (a ``threading.Event``) between steps and calls ``report(item)`` for partial
results; the worker turns those into ``progress`` and its return value into ``result``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from core.errors import MammoError

log = logging.getLogger(__name__)

Report = Callable[[object], None]
Job = Callable[[threading.Event, Report], Any]

QUIT_WAIT_MS = 60_000


class WorkerSignals(QObject):
    """Created on the UI thread, so connected slots run there (queued across threads)."""

    started = Signal()
    progress = Signal(object)
    result = Signal(object)
    error = Signal(object)  # the exception
    finished = Signal()


class Worker(QRunnable):
    """Runs one job on a pool thread.

    Every exception becomes ``error`` (logged with its traceback). Once cancelled, ``result``
    and ``error`` are dropped: the user asked to stop and nobody waits for them. ``progress``
    still passes, because a partial result already reported (a reading committed to the store)
    must reach the screen. ``finished`` is always emitted, last.
    """

    def __init__(self, job: Job, *, name: str = "job") -> None:
        super().__init__()
        # Python owns the runnable: JobPools keeps a reference until `finished` is delivered.
        self.setAutoDelete(False)
        self.name = name
        self.signals = WorkerSignals()
        self._job = job
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        self.signals.started.emit()
        try:
            value = self._job(self._cancel, self.signals.progress.emit)
        except BaseException as exc:  # noqa: BLE001 - a worker thread must never die silently
            if self.cancelled:
                log.info("Cancelled job %s ended with %r", self.name, exc)
            else:
                if isinstance(exc, MammoError):
                    # Expected (offline server, unreadable file): one line, its cause named.
                    log.warning("Job %s: %s (cause: %r)", self.name, exc, exc.__cause__)
                else:
                    log.error("Job %s failed", self.name, exc_info=exc)
                self.signals.error.emit(exc)
        else:
            if not self.cancelled:
                self.signals.result.emit(value)
        finally:
            self.signals.finished.emit()


class JobPools(QObject):
    """The two pools and the workers alive on them.

    Inference runs one job at a time (the engine already uses every core); store and file
    work runs on its own pool so that a long batch never blocks opening an image or saving a
    decision.
    """

    def __init__(self, *, io_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inference = QThreadPool(self)
        self.inference.setMaxThreadCount(1)
        self.io = QThreadPool(self)
        self.io.setMaxThreadCount(io_threads)
        self._live: dict[WorkerSignals, Worker] = {}

    def start(self, worker: Worker, *, pool: QThreadPool) -> Worker:
        """Start ``worker`` on ``pool`` and keep it alive until its ``finished`` arrives."""
        self._live[worker.signals] = worker
        worker.signals.finished.connect(self._on_worker_finished)
        pool.start(worker)
        return worker

    @property
    def live_count(self) -> int:
        return len(self._live)

    def shutdown(self, *, wait_ms: int = QUIT_WAIT_MS) -> bool:
        """Cancel every job, then wait for both pools. True when both drained in time."""
        for worker in list(self._live.values()):
            worker.cancel()
        drained = self.inference.waitForDone(wait_ms) and self.io.waitForDone(wait_ms)
        if not drained:
            log.error("Background jobs were still running %d ms after quitting", wait_ms)
        return drained

    @Slot()
    def _on_worker_finished(self) -> None:
        self._live.pop(self.sender(), None)  # type: ignore[call-overload]
