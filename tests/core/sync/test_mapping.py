"""Local readings and decisions become the server's readings as documented in
core/sync/mapping.py: the signature rides on the reading, every other decision is a reading of
its own that amends the server id of the decision it corrects."""

from __future__ import annotations

import uuid

import pytest

from core.contracts import ReadingCreate
from core.store import Store
from core.sync.mapping import MappingError, to_reading_create
from tests.core.store.factories import make_image_meta, make_new_reading
from tests.core.sync.factories import reading, sign


def mapped(store: Store) -> list[ReadingCreate]:
    entries = store.pending_outbox(limit=100)
    context = store.sync.context(entries)
    return [to_reading_create(entry, context) for entry in entries]


def test_an_unsigned_reading_keeps_its_id_image_and_model_fields(store: Store) -> None:
    made = reading(store)

    [sent] = mapped(store)

    assert sent.id == uuid.UUID(made.id)
    assert sent.image.pixel_sha256 == made.pixel_sha256
    assert (sent.image.width, sent.image.height, sent.image.laterality) == (3328, 4084, "L")
    assert sent.image.sop_instance_uid == "1.2.826.0.1.3680043.8.498.1"
    assert (sent.score, sent.label, sent.threshold) == (made.score, "Positive", made.threshold)
    assert sent.model_sha256 == made.model_sha256
    assert sent.created_at == made.created_at
    # The server's heatmap_peak is a value; the local peak is a position: not sent.
    assert sent.heatmap_peak is None
    assert (sent.signed_at, sent.agrees_with_model, sent.amends_id) == (None, None, None)


def test_a_reading_and_its_signature_are_one_signed_server_reading(store: Store) -> None:
    made = reading(store)
    signature = sign(store, made.id, birads=5, note="biopsy")

    as_reading, as_signature = mapped(store)

    assert as_reading == as_signature
    assert as_reading.id == uuid.UUID(made.id)
    assert (as_reading.agrees_with_model, as_reading.birads, as_reading.note) == (
        True,
        5,
        "biopsy",
    )
    assert as_reading.signed_at == signature.signed_at


def test_amendments_are_new_readings_chained_to_what_they_correct(store: Store) -> None:
    made = reading(store)
    first = sign(store, made.id)
    second = sign(store, made.id, birads=2, amends_id=first.id)
    third = sign(store, made.id, birads=3, amends_id=second.id)

    _, _, as_second, as_third = mapped(store)

    assert as_second.id == uuid.UUID(second.id)
    assert as_second.amends_id == uuid.UUID(made.id)  # the signature's server id
    assert as_second.birads == 2
    assert as_second.image == mapped(store)[0].image
    assert as_second.model_sha256 == made.model_sha256
    assert as_third.id == uuid.UUID(third.id)
    assert as_third.amends_id == uuid.UUID(second.id)


def test_another_users_decision_is_their_own_reading(store: Store) -> None:
    made = reading(store, "dr-a")
    theirs = sign(store, made.id, "dr-b", birads=1)

    _, as_theirs = mapped(store)

    assert as_theirs.id == uuid.UUID(theirs.id)
    assert as_theirs.amends_id is None
    assert as_theirs.birads == 1


@pytest.mark.parametrize(("local", "sent"), [("l", "L"), ("R", "R"), ("B", None), (None, None)])
def test_laterality_outside_left_and_right_is_not_sent(store: Store, local, sent) -> None:
    user_id = store.ensure_user("dr-a")
    image_id = store.add_image(make_image_meta(1, laterality=local))
    store.add_reading(make_new_reading(image_id=image_id, user_id=user_id))

    assert mapped(store)[0].image.laterality == sent


def test_a_field_the_server_would_refuse_is_reported_not_sent(store: Store) -> None:
    reading(store, app_version="")

    with pytest.raises(MappingError, match="app_version"):
        mapped(store)
