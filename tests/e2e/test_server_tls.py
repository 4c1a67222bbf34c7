"""End to end: a workstation talks to the central server over TLS, through the shipped nginx
configuration, to two app processes on a real PostgreSQL."""

from __future__ import annotations

import socket
import ssl
import uuid
import warnings

import httpx
import pytest

from tests.server import factories, stack
from tests.server.factories import reading_payload

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "e2e admin password"
READER_PASSWORD = "e2e reader password"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    try:
        with stack.running_stack(tmp_path_factory.mktemp("stack")) as running:
            running.cli(
                "create-user",
                "--username",
                "it-admin",
                "--role",
                "admin",
                stdin=ADMIN_PASSWORD + "\n",
            )
            running.cli("create-user", "--username", "dr-e2e", stdin=READER_PASSWORD + "\n")
            yield running
    except (stack.StackError, stack.pg.PostgresUnavailable) as exc:
        pytest.fail(str(exc), pytrace=False)


def tls13_client(deployment) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(deployment.ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return httpx.Client(base_url=deployment.base_url, verify=context, timeout=30)


@pytest.fixture
def client(deployment):
    with tls13_client(deployment) as client:
        yield client


def login(client, username: str, password: str) -> dict[str, str]:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return factories.bearer(response.json())


def handshake(deployment, *, maximum: ssl.TLSVersion) -> str:
    """Handshake with TLS no newer than ``maximum``; returns the version agreed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(deployment.ca))
    # Let this client really offer old versions: OpenSSL 3 forbids them at its default level,
    # and then the test would pass without the server ever refusing anything.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # old versions on purpose
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
    with (
        socket.create_connection(("127.0.0.1", deployment.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return tls.version()


def test_tls13_with_the_test_ca_and_security_headers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.extensions["network_stream"].get_extra_info("ssl_object").version() == (
        "TLSv1.3"
    )
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert client.get("/readyz").json()["migrations_at_head"] is True


def test_tls12_is_still_accepted(deployment):
    assert handshake(deployment, maximum=ssl.TLSVersion.TLSv1_2) == "TLSv1.2"


def test_a_tls11_only_client_is_refused_by_the_server(deployment):
    with pytest.raises(ssl.SSLError) as refused, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        handshake(deployment, maximum=ssl.TLSVersion.TLSv1_1)
    # The server's "protocol version" alert, not a client that could not even try.
    assert "protocol version" in str(refused.value).lower(), refused.value


def test_an_untrusted_certificate_is_rejected_by_the_client(deployment):
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{deployment.base_url}/healthz", verify=True)


def test_plain_http_redirects_to_https(deployment):
    response = httpx.get(f"http://127.0.0.1:{deployment.http_port}/healthz")
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://")


def test_readings_arrive_and_are_listed(client):
    headers = login(client, "dr-e2e", READER_PASSWORD)
    sent = [reading_payload(note="n" * 200) for _ in range(20)]

    put = client.put(f"/readings/{sent[0]['id']}", json=sent[0], headers=headers)
    batch = client.post("/readings/batch", json={"readings": sent}, headers=headers)
    listed = client.get(
        "/readings", params={"limit": 500}, headers={**headers, "Accept-Encoding": "gzip"}
    )

    assert put.status_code == 201
    assert [r["status"] for r in batch.json()["results"]] == ["unchanged"] + ["created"] * 19
    assert listed.headers["content-encoding"] == "gzip"
    ids = {r["id"] for r in listed.json()["data"]}
    assert {p["id"] for p in sent} <= ids


def test_nginx_errors_use_the_api_error_shape(client):
    headers = login(client, "dr-e2e", READER_PASSWORD)
    big = b'{"readings": [' + b" " * (9 * 1024 * 1024) + b"]}"

    response = client.post(
        "/readings/batch", content=big, headers={**headers, "content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_the_client_address_comes_from_nginx_and_cannot_be_spoofed(client):
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    marker = f"ghost-{uuid.uuid4().hex[:8]}"
    failed = client.post("/auth/login", json={"username": marker, "password": "x"}, headers=spoofed)
    admin = login(client, "it-admin", ADMIN_PASSWORD)

    events = client.get(
        "/audit", params={"action": "login_failed", "actor": marker}, headers=admin
    ).json()["data"]

    assert failed.status_code == 401
    assert [e["client_addr"] for e in events] == ["127.0.0.1"]


def test_both_app_processes_serve_and_one_can_fail(deployment):
    with tls13_client(deployment) as client:
        for _ in range(20):
            assert client.get("/healthz").status_code == 200
        served = [log.read_text().count("GET /healthz") for log in deployment.app_logs]
        assert all(count > 0 for count in served), served

        deployment.stop_app(0)
        statuses = [client.get("/readyz").status_code for _ in range(10)]

    assert statuses == [200] * 10
