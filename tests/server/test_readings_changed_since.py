"""``GET /readings?changed_since=``: the incremental pull of a workstation's sync client.

A reading made offline days ago reaches the server late; a pull that pages by ``created_at``
from where it stopped would never see it. ``changed_since`` filters on when the server stored
or signed the reading instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from server.main import create_app
from tests.server import factories
from tests.server.factories import reading_payload, signed


def test_changed_since_finds_late_arrivals_and_signatures(settings, database, radiologist):
    # Near the real time: access tokens are checked against the real clock.
    T0 = datetime.now(UTC).replace(microsecond=0)
    now = [T0]
    with TestClient(create_app(settings, database=database, clock=lambda: now[0])) as client:
        headers = factories.bearer(factories.login(client, radiologist.username))
        early = reading_payload(created_at=(T0 - timedelta(hours=1)).isoformat())
        client.post("/readings/batch", json={"readings": [early]}, headers=headers)
        now[0] = T0 + timedelta(minutes=1)
        # Made offline two days before, sent only now.
        late = reading_payload(created_at=(T0 - timedelta(days=2)).isoformat())
        client.post("/readings/batch", json={"readings": [late]}, headers=headers)
        now[0] = T0 + timedelta(minutes=2)
        client.post("/readings/batch", json={"readings": [signed(early)]}, headers=headers)

        def ids(since: datetime) -> list[str]:
            response = client.get(
                "/readings", params={"changed_since": since.isoformat()}, headers=headers
            )
            assert response.status_code == 200, response.text
            return [r["id"] for r in response.json()["data"]]

        assert ids(T0) == [late["id"], early["id"]]
        assert ids(T0 + timedelta(seconds=30)) == [late["id"], early["id"]]
        assert ids(T0 + timedelta(seconds=90)) == [early["id"]]
        assert ids(T0 + timedelta(minutes=3)) == []
