"""Statistics per day, reader and model version."""

from __future__ import annotations

from tests.server import factories
from tests.server.factories import reading_payload, signed


def send(client, headers, *payloads):
    response = client.post("/readings/batch", json={"readings": list(payloads)}, headers=headers)
    assert response.status_code == 200


def rows(client, headers, **params):
    response = client.get("/stats", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {row["key"]: row for row in response.json()["rows"]}


def test_stats_per_day_count_positives_and_agreement(client, rad_headers):
    day1 = "2025-03-01T09:00:00Z"
    send(
        client,
        rad_headers,
        signed(reading_payload(created_at=day1, score=0.9), agrees_with_model=True),
        signed(reading_payload(created_at=day1, score=0.2), agrees_with_model=False),
        reading_payload(created_at=day1, score=0.6),
        reading_payload(created_at="2025-03-02T23:30:00Z", score=0.1),
    )

    by_day = rows(client, rad_headers, group_by="day")

    assert by_day["2025-03-01"] == {
        "key": "2025-03-01",
        "readings": 3,
        "positives": 2,
        "positive_rate": 2 / 3,
        "reviewed": 2,
        "agreements": 1,
        "agreement_rate": 0.5,
    }
    assert by_day["2025-03-02"]["positive_rate"] == 0.0
    assert by_day["2025-03-02"]["agreement_rate"] is None
    assert list(rows(client, rad_headers, group_by="day", since="2025-03-02")) == ["2025-03-02"]
    assert list(rows(client, rad_headers, group_by="day", until="2025-03-01")) == ["2025-03-01"]


def test_stats_per_model_and_per_user_respect_visibility(
    client, rad_headers, admin_headers, radiologist, other_radiologist
):
    send(client, rad_headers, reading_payload(model_id="m-1"), reading_payload(model_id="m-2"))
    other = factories.bearer(factories.login(client, other_radiologist.username))
    send(client, other, reading_payload(model_id="m-1"))

    mine = rows(client, rad_headers, group_by="user")
    everyone = rows(client, admin_headers, group_by="user")
    models = rows(client, admin_headers, group_by="model")

    assert list(mine) == [radiologist.username]
    assert {k: v["readings"] for k, v in everyone.items()} == {
        radiologist.username: 2,
        other_radiologist.username: 1,
    }
    assert {k.split("@")[0]: v["readings"] for k, v in models.items()} == {"m-1": 2, "m-2": 1}


def test_amended_readings_are_counted_once(client, rad_headers):
    original = signed(reading_payload(score=0.9), agrees_with_model=True)
    amendment = signed(
        reading_payload(score=0.9), agrees_with_model=False, amends_id=original["id"]
    )
    send(client, rad_headers, original, amendment)

    (row,) = rows(client, rad_headers, group_by="user").values()

    assert row["readings"] == 1
    assert row["agreements"] == 0


def test_unknown_grouping_is_refused(client, rad_headers):
    assert client.get("/stats", params={"group_by": "week"}, headers=rad_headers).status_code == 422
