"""Reading upload (idempotent by client id), amendments, batch sync, listing and visibility."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.db.models import Image, Reading
from tests.server import factories
from tests.server.factories import reading_payload, signed


def put(client, payload, headers):
    return client.put(f"/readings/{payload['id']}", json=payload, headers=headers)


def count_readings(session) -> int:
    return session.scalar(select(func.count()).select_from(Reading))


def test_a_new_reading_is_created_and_returned_as_stored(client, rad_headers, radiologist):
    payload = reading_payload()

    response = put(client, payload, rad_headers)

    assert response.status_code == 201
    body = response.json()
    assert body["reader"] == radiologist.username
    assert body["image"] == payload["image"]
    assert body["score"] == payload["score"]
    assert body["received_at"]


def test_sending_the_same_reading_twice_stores_one_row(client, rad_headers, session):
    payload = reading_payload()

    first = put(client, payload, rad_headers)
    second = put(client, payload, rad_headers)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert count_readings(session) == 1


def test_timestamps_in_another_zone_are_the_same_reading(client, rad_headers):
    payload = reading_payload(created_at="2025-03-01T10:00:00+00:00")
    put(client, payload, rad_headers)

    again = put(client, {**payload, "created_at": "2025-03-01T11:00:00+01:00"}, rad_headers)

    assert again.status_code == 200


def test_a_signed_reading_cannot_be_changed_and_the_conflict_shows_the_stored_version(
    client, rad_headers
):
    payload = signed(reading_payload())
    put(client, payload, rad_headers)

    response = put(client, {**payload, "birads": 2}, rad_headers)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["detail"]["stored"]["birads"] == 4
    assert error["detail"]["stored"]["id"] == payload["id"]


def test_an_unsigned_reading_can_be_signed_later(client, rad_headers):
    payload = reading_payload()
    put(client, payload, rad_headers)

    response = put(client, signed(payload), rad_headers)

    assert response.status_code == 200
    assert response.json()["birads"] == 4
    assert response.json()["signed_at"] is not None


def test_model_fields_of_an_unsigned_reading_cannot_change(client, rad_headers):
    payload = reading_payload()
    put(client, payload, rad_headers)

    response = put(client, {**payload, "score": 0.1}, rad_headers)

    assert response.status_code == 409


def test_an_amendment_is_a_new_reading_pointing_to_the_amended_one(client, rad_headers):
    original = signed(reading_payload())
    put(client, original, rad_headers)
    amendment = signed(reading_payload(image=original["image"]), amends_id=original["id"], birads=2)

    response = put(client, amendment, rad_headers)

    assert response.status_code == 201
    assert response.json()["amends_id"] == original["id"]
    assert client.get(f"/readings/{original['id']}", headers=rad_headers).json()["birads"] == 4


def test_an_amendment_of_an_unknown_or_foreign_reading_is_refused(
    client, rad_headers, other_radiologist
):
    theirs = reading_payload()
    other_headers = factories.bearer(factories.login(client, other_radiologist.username))
    put(client, theirs, other_headers)

    for target in (str(uuid.uuid4()), theirs["id"]):
        response = put(client, reading_payload(amends_id=target), rad_headers)
        assert response.status_code == 422, target
        assert response.json()["error"]["code"] == "invalid_input"


def test_the_url_id_must_match_the_body(client, rad_headers):
    payload = reading_payload()
    response = client.put(f"/readings/{uuid.uuid4()}", json=payload, headers=rad_headers)
    assert response.status_code == 422


def test_an_id_taken_by_another_reader_is_a_conflict_without_their_data(
    client, rad_headers, other_radiologist
):
    theirs = reading_payload(note="private")
    put(client, theirs, factories.bearer(factories.login(client, other_radiologist.username)))

    response = put(client, {**theirs, "note": None}, rad_headers)

    assert response.status_code == 409
    assert "private" not in response.text


def test_images_are_shared_by_readings_of_the_same_image(client, rad_headers, session):
    first = reading_payload()
    put(client, first, rad_headers)
    put(client, reading_payload(image=first["image"]), rad_headers)

    assert session.scalar(select(func.count()).select_from(Image)) == 1


def test_batch_reports_a_status_per_reading(client, rad_headers, session):
    existing = signed(reading_payload())
    put(client, existing, rad_headers)
    fresh = reading_payload()
    orphan = reading_payload(amends_id=str(uuid.uuid4()))
    batch = [fresh, existing, {**existing, "birads": 1}, orphan]

    response = client.post("/readings/batch", json={"readings": batch}, headers=rad_headers)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "unchanged", "conflict", "rejected"]
    assert [r["id"] for r in results] == [r["id"] for r in batch]
    assert results[2]["stored"]["birads"] == 4
    assert count_readings(session) == 2


def test_batch_may_amend_a_reading_sent_earlier_in_the_same_batch(client, rad_headers):
    original = signed(reading_payload())
    amendment = signed(reading_payload(amends_id=original["id"]))

    response = client.post(
        "/readings/batch", json={"readings": [original, amendment]}, headers=rad_headers
    )

    assert [r["status"] for r in response.json()["results"]] == ["created", "created"]


def test_sending_a_batch_twice_changes_nothing(client, rad_headers, session):
    batch = {"readings": [reading_payload() for _ in range(5)]}
    client.post("/readings/batch", json=batch, headers=rad_headers)

    again = client.post("/readings/batch", json=batch, headers=rad_headers)

    assert {r["status"] for r in again.json()["results"]} == {"unchanged"}
    assert count_readings(session) == 5


def test_empty_and_oversized_batches_are_refused(client, rad_headers):
    assert (
        client.post("/readings/batch", json={"readings": []}, headers=rad_headers).status_code
        == 422
    )
    many = {"readings": [reading_payload() for _ in range(501)]}
    assert client.post("/readings/batch", json=many, headers=rad_headers).status_code == 422


def test_a_radiologist_cannot_see_another_readers_reading(client, rad_headers, other_radiologist):
    theirs = reading_payload()
    put(client, theirs, factories.bearer(factories.login(client, other_radiologist.username)))

    response = client.get(f"/readings/{theirs['id']}", headers=rad_headers)

    assert response.status_code == 404
    listed = client.get("/readings", headers=rad_headers).json()["data"]
    assert theirs["id"] not in [r["id"] for r in listed]


def test_a_radiologist_cannot_ask_for_another_readers_list(client, rad_headers, other_radiologist):
    response = client.get(
        "/readings", params={"user": other_radiologist.username}, headers=rad_headers
    )
    assert response.status_code == 403


def test_an_admin_sees_everyones_readings_and_can_filter_by_reader(
    client, rad_headers, admin_headers, radiologist, other_radiologist
):
    mine = reading_payload()
    put(client, mine, rad_headers)
    theirs = reading_payload()
    put(client, theirs, factories.bearer(factories.login(client, other_radiologist.username)))

    everyone = client.get("/readings", headers=admin_headers).json()["data"]
    only_mine = client.get(
        "/readings", params={"user": radiologist.username}, headers=admin_headers
    ).json()["data"]

    assert {r["id"] for r in everyone} == {mine["id"], theirs["id"]}
    assert [r["id"] for r in only_mine] == [mine["id"]]
    assert client.get(f"/readings/{theirs['id']}", headers=admin_headers).status_code == 200


def test_list_filters_by_time_label_and_model(client, rad_headers):
    early = reading_payload(created_at="2025-01-01T00:00:00Z", label="benign")
    late = reading_payload(created_at="2025-06-01T00:00:00Z", model_id="densenet-2.0")
    for payload in (early, late):
        put(client, payload, rad_headers)

    def ids(**params):
        response = client.get("/readings", params=params, headers=rad_headers)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    assert ids(since="2025-03-01T00:00:00Z") == [late["id"]]
    assert ids(until="2025-03-01T00:00:00Z") == [early["id"]]
    assert ids(label="benign") == [early["id"]]
    assert ids(model_id="densenet-2.0") == [late["id"]]


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, rad_headers):
    same_time = "2025-02-02T02:02:02Z"  # ties on created_at are broken by id
    sent = [reading_payload(created_at=same_time) for _ in range(7)]
    sent += [reading_payload(created_at="2025-02-01T00:00:00Z") for _ in range(3)]
    client.post("/readings/batch", json={"readings": sent}, headers=rad_headers)

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/readings", params=params, headers=rad_headers).json()
        seen += [r["id"] for r in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 4
    assert sorted(seen) == sorted(p["id"] for p in sent)
    assert len(seen) == len(set(seen))


def test_a_forged_cursor_is_refused(client, rad_headers):
    cases = {
        "garbage!": "validation_error",
        "e30": "invalid_input",
        "WyJ4IiwgInkiXQ": "invalid_input",
    }
    for cursor, code in cases.items():
        response = client.get("/readings", params={"cursor": cursor}, headers=rad_headers)
        assert response.status_code == 422, cursor
        assert response.json()["error"]["code"] == code


def test_batch_settles_an_id_sent_twice_like_two_puts(client, rad_headers, session):
    payload = reading_payload()
    batch = [payload, payload, signed(payload), {**payload, "score": 0.01}]

    response = client.post("/readings/batch", json={"readings": batch}, headers=rad_headers)

    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "unchanged", "updated", "conflict"]
    assert count_readings(session) == 1


def test_batch_amendment_must_follow_the_reading_it_amends(client, rad_headers):
    original = signed(reading_payload())
    amendment = signed(reading_payload(amends_id=original["id"]))

    response = client.post(
        "/readings/batch", json={"readings": [amendment, original]}, headers=rad_headers
    )

    assert [r["status"] for r in response.json()["results"]] == ["rejected", "created"]


def test_batch_conflict_on_another_readers_id_reveals_nothing(
    client, rad_headers, other_radiologist
):
    theirs = reading_payload(note="private")
    put(client, theirs, factories.bearer(factories.login(client, other_radiologist.username)))

    response = client.post("/readings/batch", json={"readings": [theirs]}, headers=rad_headers)

    (result,) = response.json()["results"]
    assert result["status"] == "conflict"
    assert result["stored"] is None
    assert "private" not in response.text
