from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store import Store
from core.sync import FileTokenStore, SyncService
from tests.core.sync.fake_server import PASSWORD, FakeServer

SERVER_URL = "https://mammo.hospital.test"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data" / "mammo.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture
def make_service(store: Store, fake: FakeServer, tmp_path: Path) -> Iterator:
    """Build services talking to ``fake`` (deterministic jitter); closed after the test."""
    made: list[SyncService] = []

    def make(**options) -> SyncService:
        values = {
            "store": store,
            "server_url": SERVER_URL,
            "ca_cert": None,
            "tokens": FileTokenStore(tmp_path / "data" / "tokens.json"),
            "offline_login_days": 7,
            "transport": fake.transport(),
            "random_fraction": lambda: 0.0,
        }
        values.update(options)
        made.append(SyncService(**values))
        return made[-1]

    yield make
    for service in made:
        service.close()


@pytest.fixture
def service(make_service, fake: FakeServer) -> SyncService:
    """A service talking to ``fake``, logged in as dr-a."""
    created = make_service()
    assert created.log_in(fake.username, PASSWORD) is not None
    return created
