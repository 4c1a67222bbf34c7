"""The audit log records logins, reading reads and writes, and user changes; nobody can
rewrite it, not even with the application's own database credentials."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.server.factories import reading_payload


def test_reading_access_and_user_changes_are_audited(
    client, rad_headers, admin_headers, radiologist
):
    payload = reading_payload()
    client.put(f"/readings/{payload['id']}", json=payload, headers=rad_headers)
    client.get(f"/readings/{payload['id']}", headers=rad_headers)
    client.get("/readings", headers=rad_headers)
    client.post("/readings/batch", json={"readings": [payload]}, headers=rad_headers)
    client.patch(f"/users/{radiologist.username}", json={"role": "admin"}, headers=admin_headers)

    events = client.get("/audit", headers=admin_headers, params={"limit": 50}).json()["data"]

    by_action = {e["action"]: e for e in events}
    assert by_action["reading_write"]["target"] == payload["id"]
    assert by_action["reading_write"]["actor"] == radiologist.username
    assert by_action["reading_read"]["target"] == payload["id"]
    assert by_action["reading_list"]["detail"]["count"] == 1
    assert by_action["reading_batch"]["detail"]["counts"] == {"unchanged": 1}
    assert by_action["user_update"]["detail"] == {"role": "admin"}
    assert by_action["login"]["client_addr"] == "testclient"


def test_audit_pages_newest_first_and_filters_by_action(client, admin_headers, rad_headers):
    for _ in range(3):
        client.get("/readings", headers=rad_headers)

    first = client.get(
        "/audit", params={"action": "reading_list", "limit": 2}, headers=admin_headers
    ).json()
    second = client.get(
        "/audit",
        params={"action": "reading_list", "limit": 2, "cursor": first["next_cursor"]},
        headers=admin_headers,
    ).json()

    ids = [e["id"] for e in first["data"] + second["data"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'nothing'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_the_audit_table_refuses_changes(client, admin_headers, connection, statement):
    assert client.get("/audit", headers=admin_headers).json()["data"], "need rows to change"

    with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
        connection.execute(text(statement))
