from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store import Store
from tests.core.store.factories import StepClock


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "mammo.sqlite3"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    opened = Store.open(store_path, clock=StepClock())
    yield opened
    opened.close()
