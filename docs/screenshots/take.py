"""Screenshots of the workstation's main screens, for the README and the user guide.

Starts the real main window (the installed model, or the "no model" banner without one) on a
throw-away data directory, reads a few images, and saves PNGs next to this script:

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take.py IMAGES... [--count 6]
    xvfb-run .venv/bin/python docs/screenshots/take.py /data/mini-mias/pgm

IMAGES are files or folders (walked recursively); the first ``--count`` images are read.

With ``--exams DDSM_IMAGES`` it takes the exam screenshots instead: two four-view DICOM
studies and a set of PNGs made from DDSM cases (``demo_exams.py``) are read, and the first
exam of the worklist is shown hung 2x2 (``hanging.png``) with its result panel
(``results.png``); ``--out DIR`` writes the PNGs there instead of beside this script:

    MAMMO_MODEL_DIR=MODEL xvfb-run .venv/bin/python docs/screenshots/take.py \
        --exams ../shared/data/ddsm-lesions-640/images
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QSplitter, QWidget  # noqa: E402

from app.about_dialog import AboutDialog, read_model_card  # noqa: E402
from app.auth import LocalAuthenticator  # noqa: E402
from app.login_dialog import LoginDialog  # noqa: E402
from app.main import create_application, load_classifier  # noqa: E402
from app.main_window import HISTORY_TAB, READING_TAB, STATS_TAB, MainWindow  # noqa: E402
from app.settings_dialog import SettingsDialog  # noqa: E402
from app.theme import apply_theme  # noqa: E402
from app.worker import JobPools  # noqa: E402
from core.imaging import iter_image_paths  # noqa: E402
from core.reading import ReadingService  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.store import Store  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE  # --out DIR writes elsewhere (a model run's folder, say)
SIZE = (1600, 960)


def wait_until(check: Callable[[], bool], *, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the workstation did not get there in time")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def save(widget: QWidget, name: str) -> None:
    settle()
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(f"saved {path}")  # noqa: T201 - a script reporting its output


def take_exam_shots(ddsm_images: Path) -> int:
    """hanging.png and results.png: three exams read, the first one hung."""
    from demo_exams import write_demo

    app = create_application(sys.argv[:1])
    apply_theme(app, "dark")
    with tempfile.TemporaryDirectory() as data:
        exams = write_demo(ddsm_images, Path(data) / "exams")
        settings = load_settings(data_dir=Path(data) / "store")
        store = Store.open(settings.store_path)
        pools = JobPools()
        try:
            user = store.get_user(store.create_local_account("dr.demo", "screenshot password"))
            assert user is not None
            classifier, why = load_classifier(settings)
            service = None if classifier is None else ReadingService(
                store=store, classifier=classifier, max_file_bytes=settings.max_file_bytes,
                max_pixels=settings.max_pixels)
            window = MainWindow(settings=settings, store=store, user=user, pools=pools,
                                reading_service=service,
                                model_info=classifier.info if classifier else None,
                                model_error=why)
            window.resize(*SIZE)
            window.show()
            finished: list[object] = []
            window.batch_finished.connect(finished.append)
            window.import_paths([str(exams)])
            wait_until(lambda: bool(finished))
            window.worklist.select_exam(next(  # the first DICOM study in triage order
                e.id for e in window.worklist_model.entries()
                if e.exam.grouped_by == "study_uid"))
            for number in range(window.worklist.proxy.rowCount()):
                window.worklist.tree.expand(window.worklist.proxy.index(number, 0))
            hanging = window.controls.hanging
            wait_until(lambda: all(v.image is not None for p, v in hanging.cells.items()
                                   if hanging.hanging and hanging.hanging.cells[p]))
            save(window, "hanging")
            side = window.result_panel.parentWidget()
            if isinstance(side, QSplitter):  # room for the whole table in the picture
                side.setSizes([520, 380])
            save(window.result_panel, "results")
            window.close()
        finally:
            pools.shutdown()
            store.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path)
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--exams", type=Path, help="DDSM images: take the exam screenshots")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the PNGs")
    args = parser.parse_args()
    global OUT
    OUT = args.out
    OUT.mkdir(parents=True, exist_ok=True)
    if args.exams is not None:
        sys.path.insert(0, str(HERE))
        return take_exam_shots(args.exams)
    files = [str(p) for p in list(iter_image_paths(args.images))[: args.count]]
    if not files:
        print("no images found", file=sys.stderr)  # noqa: T201
        return 1
    app = create_application(sys.argv[:1])
    apply_theme(app, "dark")
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=Path(data))
        store = Store.open(settings.store_path)
        pools = JobPools()
        try:
            user_id = store.create_local_account("dr.demo", "screenshot password")
            user = store.get_user(user_id)
            assert user is not None
            login = LoginDialog(authenticator=LocalAuthenticator(store), pools=pools)
            login.username.setText("dr.demo")
            login.show()
            save(login, "login")
            login.close()
            classifier, _why = load_classifier(settings)
            service = None if classifier is None else ReadingService(
                store=store, classifier=classifier, max_file_bytes=settings.max_file_bytes,
                max_pixels=settings.max_pixels)
            window = MainWindow(settings=settings, store=store, user=user, pools=pools,
                                reading_service=service,
                                model_info=classifier.info if classifier else None,
                                model_error=_why, config_file=Path(data) / "settings.toml")
            window.resize(*SIZE)
            window.show()
            finished: list[object] = []
            window.batch_finished.connect(finished.append)
            window.import_paths(files)
            wait_until(lambda: bool(finished))
            window.worklist.select_next(0)
            wait_until(lambda: window.viewer.image is not None)
            save(window, "main")
            if window.viewer.has_heatmap:
                window.viewer.set_heatmap_visible(True)
                save(window, "heatmap")
                window.viewer.set_heatmap_visible(False)
            window.tabs.setCurrentIndex(HISTORY_TAB)
            wait_until(lambda: window.history_view.table.rowCount() > 0 or service is None)
            save(window, "history")
            window.tabs.setCurrentIndex(STATS_TAB)
            wait_until(lambda: window.stats_view.total.text() != "—")
            save(window, "statistics")
            window.tabs.setCurrentIndex(READING_TAB)
            settings_dialog = SettingsDialog(settings, config_file="settings.toml")
            settings_dialog.show()
            save(settings_dialog, "settings")
            settings_dialog.close()
            about = AboutDialog(info=classifier.info if classifier else None,
                                model_card=read_model_card(
                                    classifier.info.folder if classifier else None))
            about.show()
            save(about, "about")
            about.close()
            window.close()
        finally:
            pools.shutdown()
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
