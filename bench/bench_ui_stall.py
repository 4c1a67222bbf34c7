"""How long can the workstation's window freeze while a 100-image batch is read?

A 5 ms QTimer on the UI thread records the gaps between its ticks while the real main window
reads a batch through the real ReadingService with the installed model (throw-away data
directory). Prints the batch time and the longest stall; exits 1 when no model is installed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_ui_stall.py IMAGES... [--count 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402

from app.main import create_application, load_classifier  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.worker import JobPools  # noqa: E402
from core.imaging import iter_image_paths  # noqa: E402
from core.reading import ReadingService  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.store import Store  # noqa: E402

PROBE_MS = 5


class StallProbe:
    """Ticks every PROBE_MS on the UI thread and keeps the gaps between ticks."""

    def __init__(self) -> None:
        self.gaps_ms: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._on_timeout)

    def start(self) -> None:
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _on_timeout(self) -> None:
        self.gaps_ms.append(self._clock.nsecsElapsed() / 1e6)
        self._clock.restart()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    files = [str(p) for p in list(iter_image_paths(args.images))[: args.count]]
    create_application(sys.argv[:1])
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=Path(data))
        classifier, why = load_classifier(settings)
        if classifier is None:
            print(f"no model installed ({why})")
            return 1
        store = Store.open(settings.store_path)
        pools = JobPools()
        try:
            user = store.get_user(store.create_local_account("bench", "bench password"))
            assert user is not None
            service = ReadingService(store=store, classifier=classifier,
                                     max_file_bytes=settings.max_file_bytes,
                                     max_pixels=settings.max_pixels)
            window = MainWindow(settings=settings, store=store, user=user, pools=pools,
                                reading_service=service, model_info=classifier.info)
            window.show()
            loop = QEventLoop()
            window.batch_finished.connect(loop.quit)
            probe = StallProbe()
            probe.start()
            started = time.perf_counter()
            window.import_paths(files)
            loop.exec()
            elapsed = time.perf_counter() - started
            probe.stop()
            window.close()
        finally:
            pools.shutdown()
            store.close()
    gaps = sorted(probe.gaps_ms)
    info = classifier.info
    print(f"model {info.model_id} on {info.engine}/{info.device}; {len(files)} images")
    print(f"batch time: {elapsed:.1f} s ({len(files) / elapsed:.1f} images/s)")
    print(f"longest UI stall: {gaps[-1]:.1f} ms; p99 gap {gaps[int(0.99 * (len(gaps) - 1))]:.1f}"
          f" ms over {len(gaps)} ticks of {PROBE_MS} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
