"""One error shape for every failure; probes; body limits; surviving a database outage."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from core.contracts import ErrorPublic
from server.main import create_app
from tests.server import factories
from tests.server.factories import SECRET, reading_payload
from tests.server.tcp_proxy import CuttableProxy


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = ErrorPublic.model_validate(response.json()).error
    assert error.message
    if code is not None:
        assert error.code == code
    return response.json()["error"]


def test_healthz_and_readyz_answer_when_all_is_well(client):
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready == {
        "status": "ok",
        "contract_version": "1.0",
        "database": True,
        "migrations_at_head": True,
    }


def test_unknown_route_is_a_404_in_the_error_shape(client):
    assert_error_shape(client.get("/nowhere"), 404, "not_found")


def test_wrong_method_is_a_405_in_the_error_shape(client):
    response = client.delete("/readings")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/users", "GET, POST"),  # two routes, one path: both named
        ("OPTIONS", "/users/me", "GET"),  # the literal path, not PATCH /users/{username}
        ("DELETE", "/users/alice", "PATCH"),
        ("PUT", "/readings/batch", "POST"),  # never taken for a reading id
        ("DELETE", f"/readings/{uuid.uuid4()}", "GET, PUT"),
    ],
)
def test_a_405_names_every_method_of_the_path(client, method, path, allow):
    response = client.request(method, path)

    assert_error_shape(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


def test_validation_errors_are_422_in_the_error_shape_without_echoing_input(client):
    response = client.post("/auth/login", json={"username": "x", "password": 12345})
    error = assert_error_shape(response, 422, "validation_error")
    assert error["detail"][0]["loc"] == ["body", "password"]
    assert "12345" not in response.text


def test_malformed_json_is_a_422_in_the_error_shape(client, rad_headers):
    response = client.post(
        "/readings/batch",
        content=b'{"readings": [',
        headers={**rad_headers, "content-type": "application/json"},
    )
    assert_error_shape(response, 422, "validation_error")


def test_unknown_fields_and_bad_values_are_refused(client, rad_headers):
    for bad in (
        reading_payload(extra_field=1),
        reading_payload(score=1.5),
        reading_payload(birads=7),
        reading_payload(created_at="2025-01-01T00:00:00"),  # no time zone
        reading_payload(image={"pixel_sha256": "NOT-HEX"}),
        reading_payload(note="nul\x00byte"),
    ):
        response = client.put(f"/readings/{bad['id']}", json=bad, headers=rad_headers)
        assert_error_shape(response, 422, "validation_error")


def test_oversized_body_is_refused_with_413(settings, database, rad_headers):
    app = create_app(settings.model_copy(update={"max_body_bytes": 4096}), database=database)
    big = {"readings": [reading_payload(note="x" * 3000) for _ in range(3)]}
    with TestClient(app) as client:
        declared = client.post("/readings/batch", json=big, headers=rad_headers)

        def chunks():
            yield b'{"readings": ['
            for _ in range(10):
                yield b" " * 1000

        streamed = client.post(
            "/readings/batch",
            content=chunks(),
            headers={**rad_headers, "content-type": "application/json"},
        )
    assert_error_shape(declared, 413, "payload_too_large")
    assert_error_shape(streamed, 413, "payload_too_large")


def test_auth_failures_use_the_error_shape(client, rad_headers):
    assert_error_shape(client.get("/users/me"), 401, "not_authenticated")
    assert_error_shape(client.get("/audit", headers=rad_headers), 403, "forbidden")


@pytest.fixture
def proxied_client(database_url):
    """An app whose only way to PostgreSQL is a proxy the test can cut."""
    url = make_url(database_url)
    proxy = CuttableProxy((url.host, url.port or 5432))
    settings = factories.make_settings(
        url.set(port=proxy.port).render_as_string(hide_password=False),
        db_connect_timeout_s=2,
    )
    try:
        with TestClient(create_app(settings)) as client:
            yield client, proxy
    finally:
        proxy.cut()


def test_database_outage_is_a_503_and_the_api_recovers_by_itself(proxied_client):
    client, proxy = proxied_client
    now = int(time.time())
    # A valid token for a user that does not exist: answering it needs the database.
    token = jwt.encode(
        {
            "sub": "424242",
            "role": "admin",
            "iss": "mammo-server",
            "aud": "mammo-workstation",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        },
        SECRET,
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/users/me", headers=headers).status_code == 401

    proxy.cut()
    down = client.get("/users/me", headers=headers)
    not_ready = client.get("/readyz")
    alive = client.get("/healthz")

    proxy.restore()
    back = client.get("/readyz")
    back_api = client.get("/users/me", headers=headers)

    assert_error_shape(down, 503, "database_unavailable")
    assert_error_shape(not_ready, 503, "service_unavailable")
    assert alive.status_code == 200
    assert back.status_code == 200
    assert back_api.status_code == 401
