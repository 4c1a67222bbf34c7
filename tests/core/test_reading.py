"""The headless reading path: every file gets an outcome, readings are committed at once."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from core.inference.classifier import Classifier
from core.reading import ReadingService
from core.store import Store
from tests.conftest import FIXTURES


def make_service(model: Path, store: Store | None) -> ReadingService:
    return ReadingService(store=store, classifier=Classifier.load(model),
                          max_file_bytes=1 << 28, max_pixels=50_000_000)


def test_a_tiny_image_fails_alone_and_the_batch_goes_on(tiny_model_dir, tmp_path):
    from PIL import Image

    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[:3]:
        shutil.copy(p, folder / p.name)
    Image.new("L", (4, 4)).save(folder / "a_tiny.png")  # decodes, but is no mammogram
    with Store.open(tmp_path / "store.sqlite3") as store:
        user = store.ensure_user("reader")
        outcomes = list(make_service(tiny_model_dir, store).read([folder], user_id=user))
        by_name = {o.path.name: o for o in outcomes}
        tiny = by_name.pop("a_tiny.png")
        assert tiny.error is not None and "8x8" in tiny.error.message
        assert len(by_name) == 3
        assert all(o.ok and o.reading is not None for o in by_name.values())
        assert store.count_readings() == 3


def test_cancel_stops_between_batches_and_keeps_what_was_read(tiny_model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    src = sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[0]
    for i in range(10):
        shutil.copy(src, folder / f"{i:02d}.jpg")
    cancel = threading.Event()
    with Store.open(tmp_path / "store.sqlite3") as store:
        user = store.ensure_user("reader")
        seen = []
        for outcome in make_service(tiny_model_dir, store).read(
                [folder], user_id=user, cancel=cancel,
                progress=lambda done, total: cancel.set() if done >= 4 else None):
            seen.append(outcome)
        assert len(seen) == 4  # one batch of four, then the cancel took effect
        assert store.count_readings() == 4
