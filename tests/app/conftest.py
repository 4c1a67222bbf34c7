"""App test fixtures. Qt runs off-screen; a fake classifier keeps the UI tests fast."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.worker import JobPools  # noqa: E402
from core.reading import ReadingService  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402
from core.store import Store, UserRecord  # noqa: E402
from tests.app.factories import PASSWORD, FakeClassifier  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the machine's files and variables."""
    for name in list(os.environ):
        if name.startswith("MAMMO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAMMO_CONFIG_FILE", str(tmp_path / "config" / "settings.toml"))
    monkeypatch.setenv("MAMMO_SITE_CONFIG", str(tmp_path / "config" / "site.toml"))
    return load_settings(data_dir=tmp_path / "data", model_dir=tmp_path / "no-model")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = Store.open(settings.store_path)
    yield opened
    opened.close()


@pytest.fixture
def user(store: Store) -> UserRecord:
    user_id = store.create_local_account("reader", PASSWORD)
    record = store.get_user(user_id)
    assert record is not None
    return record


@pytest.fixture
def pools() -> Iterator[JobPools]:
    created = JobPools()
    yield created
    assert created.shutdown(wait_ms=30_000), "background jobs did not finish"


@pytest.fixture
def make_window(qtbot, settings: Settings, store: Store, user: UserRecord, pools: JobPools
                ) -> Iterator[Callable[..., MainWindow]]:
    """Build the main window with a classifier (a fake) or None for the no-model case."""
    windows: list[MainWindow] = []

    def build(classifier: FakeClassifier | None = None, *, window_store: Store | None = None
              ) -> MainWindow:
        used_store = window_store or store
        service = None
        if classifier is not None:
            service = ReadingService(store=used_store, classifier=classifier,  # type: ignore[arg-type]
                                     max_file_bytes=settings.max_file_bytes,
                                     max_pixels=settings.max_pixels)
        window = MainWindow(settings=settings, store=used_store, user=user, pools=pools,
                            reading_service=service,
                            model_info=classifier.info if classifier else None,
                            model_error=None if classifier else "No trained model (test)",
                            config_file=Path(os.environ["MAMMO_CONFIG_FILE"]))
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.close()
