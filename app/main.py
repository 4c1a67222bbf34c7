"""The workstation's one composition root: ``mammo-workstation`` and ``python -m app``.

settings -> logging (data_dir/logs) -> Qt application and theme -> local store -> sync
service (only with ``server_url``) -> classifier (or None, with the "no model" banner) ->
reading service -> worker pools -> log in (with a server: server accounts, offline within
``offline_login_days``; without: local accounts, first run creates one) -> main window
(given the same authenticator, to log in again when the server login expires). On quit: the
window cancels and drains the pools, then sync and the store are closed here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog

from app.auth import Authenticator, LocalAuthenticator
from app.errors import show_error
from app.first_run_dialog import FirstRunDialog
from app.login_dialog import LoginDialog
from app.main_window import MainWindow
from app.theme import apply_theme
from app.ui_state import remember_username, state_file
from app.worker import JobPools, Worker
from core import __version__
from core.errors import MammoError, ModelLoadError
from core.inference.classifier import Classifier
from core.modelstore import model_folder
from core.reading import ReadingService
from core.selftest import run_self_test
from core.settings import Settings, load_settings, user_config_file
from core.store import Store, UserRecord

if TYPE_CHECKING:
    from core.sync import SyncService

log = logging.getLogger("app")

LOG_BYTES = 5 * 1024 * 1024


def configure_logging(settings: Settings) -> logging.Handler:
    """Log to ``data_dir/logs/workstation.log`` (rotated); returns the handler to remove."""
    folder = settings.data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "workstation.log"
    handler = RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    return handler


def load_classifier(settings: Settings) -> tuple[Classifier | None, str | None]:
    """The installed model, or (None, why) so that the app still starts, unscored."""
    try:
        classifier = Classifier.load(model_folder(settings), engine=settings.engine,
                                     device=settings.device, batch_size=settings.batch_size)
    except ModelLoadError as exc:
        log.warning("No model: %s", exc.message, exc_info=exc.__cause__)
        return None, exc.message
    info = classifier.info
    log.info("Model %s on %s/%s", info.model_id, info.engine, info.device)
    return classifier, None


def build_sync(settings: Settings, store: Store) -> SyncService | None:
    """The sync service when a server is configured; None keeps the workstation local-only."""
    if not settings.server_url:
        return None
    # Imported here: the HTTP client and keyring load only on workstations with a server.
    from core.sync import SyncService

    return SyncService.from_settings(settings, store)


def build_authenticator(store: Store, sync: SyncService | None) -> Authenticator:
    """Server accounts when syncing (the dialogs are the same), else local accounts."""
    if sync is None:
        return LocalAuthenticator(store)
    from core.sync import ServerAuthenticator

    return ServerAuthenticator(sync)


def log_in(authenticator: Authenticator, pools: JobPools, *, remembered: Path
           ) -> UserRecord | None:
    """First run: create the account; later: log in (the last user name filled in from
    ``remembered``). None when the user cancels."""
    first_run = authenticator.needs_first_run()
    dialog: FirstRunDialog | LoginDialog
    if first_run:
        dialog = FirstRunDialog(authenticator=authenticator, pools=pools)
    else:
        dialog = LoginDialog(authenticator=authenticator, pools=pools, state_file=remembered)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    if first_run and dialog.user is not None:
        remember_username(remembered, dialog.user.username)
    return dialog.user


def create_application(argv: Sequence[str] | None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Follow the platform's scale factor exactly (150 % stays 150 %, not rounded to 200 %).
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(list(argv) if argv is not None else sys.argv)
    app.setApplicationName("Mammo Workstation")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("mammo-workstation")
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workstation; the exit status is 0 unless it could not start."""
    if "--self-test" in (sys.argv[1:] if argv is None else list(argv)):
        return self_test()
    app = create_application(argv)
    try:
        settings = load_settings()
    except MammoError as exc:
        apply_theme(app)
        show_error(None, exc, modal=True)
        return 2
    apply_theme(app, settings.theme)
    handler = configure_logging(settings)
    try:
        return _run(app, settings)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def self_test() -> int:
    """``--self-test`` (IT, CI, packaged builds): core's checks, run before and without any
    QApplication, so that it works without a display; exit status 0 when all passed."""
    return run_self_test(versions={"Qt": qVersion(), "PySide6": PySide6.__version__})


def _run(app: QApplication, settings: Settings) -> int:
    log.info("Mammo Workstation %s starting; data in %s", __version__, settings.data_dir)
    try:
        store = Store.open(settings.store_path)
    except MammoError as exc:
        show_error(None, exc, modal=True)
        return 2
    try:
        sync = build_sync(settings, store)
    except MammoError as exc:
        store.close()
        show_error(None, exc, modal=True)
        return 2
    pools = JobPools()
    # The model loads (hash checks, engine start: seconds) while the user logs in. The job
    # leaves its answer here; waitForDone below orders that write before the read.
    loaded: dict[str, tuple[Classifier | None, str | None]] = {}
    pools.start(Worker(lambda _c, _r: loaded.setdefault("model", load_classifier(settings)),
                       name="load model"), pool=pools.inference)
    try:
        authenticator = build_authenticator(store, sync)
        user = log_in(authenticator, pools, remembered=state_file(settings.data_dir))
        if user is None:
            return 0
        pools.inference.waitForDone()
        classifier, model_error = loaded.get(
            "model", (None, "The model could not be loaded; the log says why."))
        service = None
        if classifier is not None:
            service = ReadingService(store=store, classifier=classifier,
                                     max_file_bytes=settings.max_file_bytes,
                                     max_pixels=settings.max_pixels)
        window = MainWindow(settings=settings, store=store, user=user, pools=pools,
                            reading_service=service,
                            model_info=classifier.info if classifier else None,
                            model_error=model_error, config_file=user_config_file(),
                            sync=sync, authenticator=authenticator,
                            rollout=getattr(sync, "rollout", None))
        window.show_on_screen()
        return int(app.exec())
    finally:
        pools.shutdown()  # cancel, then wait: no sync pass still uses the client or the store
        if sync is not None:
            sync.close()
        store.close()
        log.info("Mammo Workstation stopped")


if __name__ == "__main__":
    raise SystemExit(main())
