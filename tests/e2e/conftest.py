"""Fixtures of the sync end-to-end tests: a real PostgreSQL database per module, real server
processes over HTTPS. They fail, never skip, when PostgreSQL or nginx is missing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import sync_support
from tests.server import pg


@pytest.fixture(scope="module")
def sync_database() -> Iterator[str]:
    """An empty, migrated database for one test module; dropped afterwards."""
    try:
        url = sync_support.throwaway_database("mammo_sync")
    except pg.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        # A backend stuck in a stalled query (see test_sync_outage) notices that the server
        # process holding its connection was killed, and rolls back, as it would at once
        # without the stall.
        name = url.rsplit("/", 1)[-1].split("?")[0]
        sync_support.sql(url, f'ALTER DATABASE "{name}" SET client_connection_check_interval = 100')
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture
def radiologist(sync_database: str) -> str:
    """A new radiologist on the server (password sync_support.PASSWORD); their name."""
    name = f"dr-{uuid.uuid4().hex[:8]}"
    sync_support.create_user(sync_database, name)
    return name


@pytest.fixture
def server(sync_database: str, tmp_path: Path) -> Iterator[sync_support.ServerProcess]:
    """``mammo-server serve`` over HTTPS in its own process; stopped after the test."""
    process = sync_support.ServerProcess(tmp_path / "server", sync_database)
    try:
        process.start()
        yield process
    finally:
        process.stop()
