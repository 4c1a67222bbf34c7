"""Fixtures of the PACS core tests: a private store and a reader (Orthanc comes from
tests/pacs_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store import Store, UserId


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store" / "mammo.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def reader(store: Store) -> UserId:
    return store.create_local_account("jreader", "a long password", display_name="Jane Reader")
