"""Several app processes writing the same readings at once still store each reading once.

Runs on a database of its own with committed data: per-test transactions cannot show what
two connections do to each other.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.db import migrate
from server.db.database import Database
from server.db.models import Image, Reading
from server.main import create_app
from tests.server import factories, pg


@pytest.fixture
def shared_db():
    try:
        url = pg.create_database("mammo_concurrency")
    except pg.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    migrate.upgrade(url)
    database = Database.from_url(url)
    try:
        with database.session() as session:
            factories.make_user(session, "rad-busy")
        yield url, database
    finally:
        database.dispose()
        pg.drop_database(url)


def test_the_same_batch_from_many_clients_at_once_is_stored_once(shared_db):
    url, database = shared_db
    image = factories.reading_payload()["image"]
    batch = {"readings": [factories.reading_payload(image=image) for _ in range(50)]}
    batch["readings"] += [factories.reading_payload() for _ in range(50)]
    apps = [create_app(factories.make_settings(url)) for _ in range(2)]
    clients = [TestClient(app) for app in apps]

    with clients[0], clients[1]:
        headers = factories.bearer(factories.login(clients[0], "rad-busy"))

        def send(i: int):
            return clients[i % 2].post("/readings/batch", json=batch, headers=headers)

        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(send, range(6)))

    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    per_reading = zip(*([x["status"] for x in r.json()["results"]] for r in responses), strict=True)
    for statuses in per_reading:
        assert sorted(statuses) == ["created"] + ["unchanged"] * 5
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Reading)) == 100
        assert session.scalar(select(func.count()).select_from(Image)) == 51


def test_a_burst_beyond_the_thread_pool_and_the_connection_pool_never_deadlocks(shared_db):
    # 80 requests at once against 40 worker threads and 2 connections: a connection held by a
    # request that waits for a thread, while every thread waits for a connection, stalls until
    # the pool gives up (503 after 10 s). It happened to 100 workstations in bench_server.py.
    url, _ = shared_db
    app = create_app(factories.make_settings(url, db_pool_size=1))
    readings = [factories.reading_payload() for _ in range(160)]

    with TestClient(app) as client:
        headers = factories.bearer(factories.login(client, "rad-busy"))

        def put(reading: dict) -> int:
            url = f"/readings/{reading['id']}"
            return client.put(url, json=reading, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=80) as pool:
            statuses = list(pool.map(put, readings))

    assert statuses == [201] * len(readings)
