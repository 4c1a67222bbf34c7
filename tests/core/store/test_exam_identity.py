"""Images keep whose exam they are (study, patient, accession), history finds them by patient
and accession, and a side the reader said is kept by picture (schema 0005)."""

from __future__ import annotations

import pytest

from core.errors import StoreError
from core.store import ImageIdentity, Store
from tests.core.store.factories import make_image_meta, make_new_reading

DICOM_IDENTITY = {
    "study_instance_uid": "1.2.826.0.1.3680043.8.498.100",
    "patient_id": "P-0042",
    "patient_name": "Doe^Jane",
    "birth_date": "1961-03-07",
    "study_date": "2024-01-15",
    "accession_number": "ACC-77",
    "manufacturer": "GE",
}


def test_a_reading_carries_its_images_exam_identity(store: Store) -> None:
    user_id = store.ensure_user("alice")
    image_id = store.add_image(make_image_meta(1, **DICOM_IDENTITY))
    reading = store.add_reading(make_new_reading(image_id=image_id, user_id=user_id))

    expected = ImageIdentity(laterality="L", view_position="CC", **DICOM_IDENTITY)
    assert reading.identity == expected
    assert store.get_reading(reading.id).identity == expected
    assert store.list_readings()[0].identity == expected


def test_history_searches_by_patient_id_name_and_accession(store: Store) -> None:
    user_id = store.ensure_user("alice")
    doe = store.add_reading(make_new_reading(
        image_id=store.add_image(make_image_meta(1, **DICOM_IDENTITY)), user_id=user_id))
    store.add_reading(make_new_reading(
        image_id=store.add_image(make_image_meta(2, patient_id="P-0099",
                                                 accession_number="ACC-12")),
        user_id=user_id))

    def found(text: str) -> list[str]:
        return [r.id for r in store.list_readings(text=text)]

    assert found("p-0042") == [doe.id]
    assert found("ACC-77") == [doe.id]
    assert found("doe") == [doe.id]
    assert len(found("ACC-")) == 2


def test_a_plain_image_has_no_identity_beyond_its_side(store: Store) -> None:
    user_id = store.ensure_user("alice")
    image_id = store.add_image(make_image_meta(3, laterality=None, view_position=None))
    reading = store.add_reading(make_new_reading(image_id=image_id, user_id=user_id))
    assert reading.identity == ImageIdentity()


def test_a_side_said_once_is_found_by_picture_and_a_later_answer_completes_it(
        store: Store) -> None:
    user_id = store.ensure_user("alice")
    sides = store.image_sides
    assert sides.stated(["ab" * 32]) == {}

    sides.state("ab" * 32, laterality="R", view=None, user_id=user_id)
    sides.state("ab" * 32, laterality=None, view="MLO", user_id=user_id)
    sides.state("cd" * 32, laterality="L", view="CC", user_id=user_id)

    assert sides.stated(["ab" * 32, "cd" * 32, "ef" * 32]) == {
        "ab" * 32: ("R", "MLO"), "cd" * 32: ("L", "CC")}
    with pytest.raises(StoreError, match="not a breast side"):
        sides.state("ab" * 32, laterality="both", view=None, user_id=user_id)
