"""The worker type: errors become signals, cancelled results are dropped, quit drains."""

from __future__ import annotations

import threading

from app.worker import JobPools, Worker
from core.errors import StoreError


def test_exception_becomes_error_signal(qtbot, pools: JobPools) -> None:
    def job(_cancel, _report):
        raise StoreError("The local store is locked.")

    worker = Worker(job)
    results: list[object] = []
    errors: list[object] = []
    worker.signals.result.connect(results.append)
    worker.signals.error.connect(errors.append)
    with qtbot.waitSignal(worker.signals.finished, timeout=10_000):
        pools.start(worker, pool=pools.io)
    assert len(errors) == 1 and isinstance(errors[0], StoreError)
    assert results == []


def test_cancelled_job_result_is_dropped_and_quit_drains(qtbot, pools: JobPools) -> None:
    started, release = threading.Event(), threading.Event()

    def job(cancel, report):
        started.set()
        release.wait(10)
        report("partial")
        return "late"

    worker = Worker(job)
    results: list[object] = []
    progress: list[object] = []
    worker.signals.result.connect(results.append)
    worker.signals.progress.connect(progress.append)
    pools.start(worker, pool=pools.inference)
    assert started.wait(10)
    worker.cancel()
    release.set()
    assert pools.shutdown(wait_ms=10_000)
    qtbot.waitUntil(lambda: pools.live_count == 0)
    assert results == []
    assert progress == ["partial"]  # committed partial results still reach the screen


def test_expected_errors_log_one_line_and_unexpected_ones_a_traceback(qtbot, pools: JobPools,
                                                                       caplog) -> None:
    def expected(_cancel, _report):
        raise StoreError("The local store is locked.")

    def unexpected(_cancel, _report):
        raise RuntimeError("a bug")

    caplog.set_level("WARNING", logger="app.worker")
    for job in (expected, unexpected):
        worker = Worker(job)
        with qtbot.waitSignal(worker.signals.finished, timeout=10_000):
            pools.start(worker, pool=pools.io)
    warning, error = [r for r in caplog.records if r.name == "app.worker"]
    assert warning.levelname == "WARNING" and warning.exc_info is None
    assert "The local store is locked." in warning.getMessage()
    assert error.levelname == "ERROR" and error.exc_info is not None
