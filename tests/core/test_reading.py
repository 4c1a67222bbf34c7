"""The headless reading path: every file gets an outcome, readings are committed at once."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from core.inference.classifier import Classifier
from core.reading import ReadingService
from core.store import Store
from tests.app.factories import FakeClassifier, write_mammograms
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
        assert tiny.error is not None and "too small to be a mammogram" in tiny.error.message
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


def make_fake_service(store: Store, classifier: FakeClassifier) -> ReadingService:
    return ReadingService(store=store, classifier=classifier,  # type: ignore[arg-type]
                          max_file_bytes=1 << 28, max_pixels=50_000_000)


def test_an_image_already_read_gives_back_its_reading_instead_of_a_new_one(tmp_path):
    folder = tmp_path / "in"
    write_mammograms(folder, 3)
    copy = tmp_path / "elsewhere" / "renamed.png"
    copy.parent.mkdir()
    shutil.copy(folder / "img001.png", copy)  # same pixels, other name: already read too
    classifier = FakeClassifier()
    with Store.open(tmp_path / "store.sqlite3") as store:
        reader = store.ensure_user("reader")
        service = make_fake_service(store, classifier)
        first = {o.path.name: o for o in service.read([folder], user_id=reader)}
        signed = first["img001.png"].reading
        store.add_feedback(reading_id=signed.id, user_id=reader, agrees_with_model=True,
                           birads=2)
        calls = classifier.calls

        again = list(service.read([folder, copy], user_id=reader, reuse_earlier=True))

        assert classifier.calls == calls  # nothing was scored again
        assert all(o.ok and o.already_read and o.prediction is None for o in again)
        assert [o.reading.id for o in again] == [
            *(first[name].reading.id for name in ("img000.png", "img001.png", "img002.png")),
            signed.id]
        assert again[1].reading.feedback is not None  # the signed decision comes with it
        assert store.count_readings() == 3


def test_another_readers_reading_does_not_count_as_read(tmp_path):
    write_mammograms(tmp_path / "in", 1)
    with Store.open(tmp_path / "store.sqlite3") as store:
        service = make_fake_service(store, FakeClassifier())
        list(service.read([tmp_path / "in"], user_id=store.ensure_user("alice")))

        [outcome] = service.read([tmp_path / "in"], user_id=store.ensure_user("bob"),
                                 reuse_earlier=True)

        assert not outcome.already_read and outcome.prediction is not None
        assert store.count_readings() == 2


def test_a_rescore_is_a_new_reading_that_names_the_earlier_one(tmp_path):
    write_mammograms(tmp_path / "in", 1)
    with Store.open(tmp_path / "store.sqlite3") as store:
        reader = store.ensure_user("reader")
        service = make_fake_service(store, FakeClassifier())
        [first] = service.read([tmp_path / "in"], user_id=reader)
        [second] = service.read([tmp_path / "in"], user_id=reader)
        [third] = service.read([tmp_path / "in"], user_id=reader, reuse_earlier=True)

        assert first.reading.rescore_of is None
        assert not second.already_read and second.reading.id != first.reading.id
        assert second.reading.rescore_of == first.reading.id
        assert store.get_reading(second.reading.id).rescore_of == first.reading.id
        assert third.already_read and third.reading.id == second.reading.id  # the newest


def test_one_picture_twice_in_a_folder_is_read_once(tmp_path):
    folder = tmp_path / "in"
    write_mammograms(folder, 1)
    shutil.copy(folder / "img000.png", folder / "img000-copy.png")
    with Store.open(tmp_path / "store.sqlite3") as store:
        reader = store.ensure_user("reader")
        outcomes = list(make_fake_service(store, FakeClassifier()).read(
            [folder], user_id=reader, reuse_earlier=True))

        assert [o.already_read for o in outcomes] == [False, True]
        assert outcomes[0].reading.id == outcomes[1].reading.id
        assert store.count_readings() == 1
