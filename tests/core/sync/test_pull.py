"""Readings made on other workstations come into the local history once, as synced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from core.contracts import ImageMeta, ReadingPublic
from core.store import REMOTE_SOURCE_PREFIX, Store
from core.sync import SyncService
from tests.core.sync.factories import reading
from tests.core.sync.fake_server import FakeServer

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)


def server_reading(**overrides) -> ReadingPublic:
    values = {
        "id": uuid.uuid4(),
        "image": ImageMeta(pixel_sha256=uuid.uuid4().hex * 2, width=3328, height=4096,
                           laterality="R", view_position="MLO"),
        "score": 0.12, "label": "Negative", "threshold": 0.42, "model_id": "densenet121-mil",
        "model_sha256": "ab" * 32, "engine": "onnx", "device": "cpu",
        "preprocessing_version": "pre-3", "app_version": "0.1.0", "created_at": T0,
        "reader": "dr-a", "received_at": T0,
    }  # fmt: skip
    values.update(overrides)
    return ReadingPublic(**values)


def signed(base: ReadingPublic, **overrides) -> ReadingPublic:
    decision = {"agrees_with_model": True, "birads": 1, "note": "normal",
                "signed_at": T0 + timedelta(minutes=5)}  # fmt: skip
    return base.model_copy(update={**decision, **overrides})


def put(fake: FakeServer, *items: ReadingPublic) -> None:
    for item in items:
        fake.readings[str(item.id)] = item


def test_readings_decisions_and_amendments_from_elsewhere_are_merged_once(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    plain = server_reading()
    original = signed(server_reading(created_at=T0 + timedelta(hours=1)))
    correction = signed(original, id=uuid.uuid4(), amends_id=original.id, birads=3,
                        note="on second look", signed_at=T0 + timedelta(hours=2))  # fmt: skip
    put(fake, plain, original, correction)

    first = service.sync_once()
    second = service.sync_once()

    assert (first.readings_pulled, first.decisions_pulled) == (2, 2)
    assert (second.readings_pulled, second.decisions_pulled) == (0, 0)
    assert store.count_readings() == 2 and store.count_pending_outbox() == 0
    local = {r.id: r for r in store.list_readings()}
    assert local[str(plain.id)].feedback is None
    assert local[str(plain.id)].sync_state == "synced"
    assert local[str(plain.id)].source_path == REMOTE_SOURCE_PREFIX + plain.image.pixel_sha256
    history = store.feedback_history(str(original.id))
    assert [(f.birads, f.note) for f in history] == [(1, "normal"), (3, "on second look")]
    assert history[1].id == str(correction.id) and history[1].amends_id == history[0].id
    assert {f.sync_state for f in history} == {"synced"}


def test_a_reading_signed_elsewhere_later_gets_its_signature(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    unsigned = server_reading()
    put(fake, unsigned)
    service.sync_once()
    put(fake, signed(unsigned, birads=2))

    report = service.sync_once()

    assert report.decisions_pulled == 1
    [decision] = store.feedback_history(str(unsigned.id))
    assert decision.birads == 2 and decision.sync_state == "synced"


def test_an_image_this_workstation_has_is_reused(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    mine = reading(store, n=1)
    service.sync_once()
    local_image = store.get_reading(mine.id)
    assert local_image is not None
    again = server_reading(image=ImageMeta(pixel_sha256=mine.pixel_sha256, width=3328, height=4084))
    put(fake, again)

    service.sync_once()

    pulled = store.get_reading(str(again.id))
    assert pulled is not None and pulled.image_id == local_image.image_id
    assert pulled.source_path == mine.source_path


def test_readings_this_store_cannot_hold_are_skipped_not_fatal(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    put(fake, server_reading(label="suspicious"), server_reading())

    report = service.sync_once()

    assert report.readings_pulled == 1 and store.count_readings() == 1


def test_an_amendment_of_something_never_seen_is_kept_as_a_reading(
    store: Store, fake: FakeServer, service: SyncService
) -> None:
    orphan = signed(server_reading(amends_id=uuid.uuid4()))
    put(fake, orphan)

    report = service.sync_once()

    assert report.readings_pulled == 1
    assert store.get_reading(str(orphan.id)) is not None
