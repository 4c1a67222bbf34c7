"""SQL metacharacters in every string field are stored and returned verbatim."""

from __future__ import annotations

import pytest

from tests.server import factories
from tests.server.factories import reading_payload

NASTY = [
    "'; DROP TABLE readings; --",
    '" OR "1"="1',
    "Robert'); DELETE FROM users;--",
    "%_\\ $$ $1 ::text",
    "é ß 😀 \u202e",
]


@pytest.mark.parametrize("nasty", NASTY)
def test_reading_string_fields_round_trip_verbatim(client, rad_headers, nasty):
    short = nasty[:16]
    payload = reading_payload(
        label=nasty,
        model_id=nasty,
        engine=nasty,
        device=nasty,
        preprocessing_version=nasty,
        app_version=nasty,
        note=nasty,
        image={"view_position": short, "sop_instance_uid": nasty, "study_instance_uid": nasty},
    )

    stored = client.put(f"/readings/{payload['id']}", json=payload, headers=rad_headers)
    listed = client.get(
        "/readings", params={"label": nasty, "model_id": nasty}, headers=rad_headers
    )

    assert stored.status_code == 201, stored.text
    body = stored.json()
    text_fields = [k for k, v in payload.items() if isinstance(v, str) and k != "created_at"]
    assert {k: body[k] for k in text_fields} == {k: payload[k] for k in text_fields}
    assert body["image"] == payload["image"]
    assert [r["id"] for r in listed.json()["data"]] == [payload["id"]]
    again = client.put(f"/readings/{payload['id']}", json=payload, headers=rad_headers)
    assert again.status_code == 200


@pytest.mark.parametrize("nasty", NASTY)
def test_usernames_and_passwords_round_trip_verbatim(client, admin_headers, nasty):
    username = nasty.replace(" ", "")
    password = nasty + " with enough length"
    created = client.post(
        "/users", json={"username": username, "password": password}, headers=admin_headers
    )

    assert created.status_code == 201, created.text
    assert created.json()["username"] == username
    tokens = factories.login(client, username, password)
    assert client.get("/users/me", headers=factories.bearer(tokens)).json()["username"] == username
    unknown = client.post("/auth/login", json={"username": username + "'--", "password": password})
    assert unknown.status_code == 401
