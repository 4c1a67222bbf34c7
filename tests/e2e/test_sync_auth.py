"""Tokens and trust, end to end against the real server app over HTTPS: an access token that
expires in the middle of a sync, a login revoked by an administrator, a certificate from the
wrong CA, and plain HTTP to another host."""

from __future__ import annotations

import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.errors import SyncError, SyncErrorKind
from core.sync import ServerEndpoint
from core.sync.tokens import Tokens, token_key
from tests.e2e.sync_support import (
    PASSWORD,
    Certificates,
    InProcessServer,
    create_user,
    make_readings,
    server_ids,
    workstation,
)
from tests.e2e.test_sync_outage import cli_env, mammo

pytestmark = pytest.mark.slow

TOKEN_LIFE = timedelta(minutes=1)  # the shortest the server allows...
REAL_LIFE = timedelta(seconds=3)  # ...made shorter by a server clock running behind


class LaggingClock:
    """The server's clock; behind the real one while the test logs in, so that the access
    token it issues (checked against the real clock) expires after REAL_LIFE."""

    def __init__(self) -> None:
        self.lag = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) - self.lag

    def issue_short_tokens(self) -> None:
        self.lag = TOKEN_LIFE - REAL_LIFE


@pytest.fixture
def clock() -> LaggingClock:
    return LaggingClock()


@pytest.fixture
def app_server(sync_database, tmp_path: Path, clock: LaggingClock):
    with InProcessServer(
        tmp_path / "server", sync_database, clock=clock, access_token_minutes=1
    ) as running:
        yield running


class PausesAfterFirstBatch(httpx.HTTPTransport):
    """Real HTTPS; after the first batch it waits until the access token has expired, and it
    records the status of every batch request."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.batch_statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/readings/batch":
            self.batch_statuses.append(response.status_code)
            if len(self.batch_statuses) == 1:
                time.sleep(REAL_LIFE.total_seconds() + 1)
        return response


def test_an_access_token_expiring_during_sync_is_refreshed_transparently(
    app_server, clock, sync_database, radiologist, tmp_path: Path
) -> None:
    endpoint = ServerEndpoint.parse(app_server.url, ca_cert=app_server.certs.ca)
    transport = PausesAfterFirstBatch(verify=endpoint.ssl_context())
    store, service = workstation(
        tmp_path / "ws", app_server.url, app_server.certs.ca, batch_size=100, transport=transport
    )
    clock.issue_short_tokens()
    service.log_in(radiologist, PASSWORD)
    clock.lag = timedelta(0)
    before = service.tokens.load(token_key(app_server.url, radiologist))
    ids = make_readings(store, radiologist, 300)

    report = service.sync_once()

    assert transport.batch_statuses == [200, 401, 200, 200]
    assert report.sent == 300
    assert server_ids(sync_database, radiologist) == sorted(ids)
    after = service.tokens.load(token_key(app_server.url, radiologist))
    assert before is not None and after is not None
    assert after.refresh_token != before.refresh_token
    service.close()
    store.close()


def test_a_login_revoked_by_an_admin_asks_for_a_new_login_and_keeps_the_queue(
    app_server, clock, sync_database, radiologist, tmp_path: Path
) -> None:
    store, service = workstation(tmp_path / "ws", app_server.url, app_server.certs.ca)
    clock.issue_short_tokens()
    service.log_in(radiologist, PASSWORD)
    clock.lag = timedelta(0)
    admin = f"admin-{radiologist}"
    create_user(sync_database, admin, role="admin")
    trust = ssl.create_default_context(cafile=str(app_server.certs.ca))
    with httpx.Client(base_url=app_server.url, verify=trust) as it:
        tokens = it.post("/auth/login", json={"username": admin, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        # Disabling an account revokes its refresh tokens; enabling it again does not bring
        # them back.
        for active in (False, True):
            answer = it.patch(f"/users/{radiologist}", json={"is_active": active}, headers=headers)
            assert answer.status_code == 200, answer.text
    ids = make_readings(store, radiologist, 20)
    time.sleep(REAL_LIFE.total_seconds() + 1)  # the access token expires as well

    with pytest.raises(SyncError, match="Log in again") as refused:
        service.sync_once()

    assert refused.value.kind is SyncErrorKind.AUTH
    assert service.status().pending == 20
    assert server_ids(sync_database, radiologist) == []
    assert service.tokens.load(token_key(app_server.url, radiologist)) is None

    assert service.log_in(radiologist, PASSWORD).online
    assert service.sync_once().sent == 20
    assert server_ids(sync_database, radiologist) == sorted(ids)
    service.close()
    store.close()


@pytest.mark.parametrize("trusted", ["another CA", "the system CAs"])
def test_a_certificate_from_another_ca_is_refused_before_anything_is_sent(
    app_server, sync_database, radiologist, tmp_path: Path, trusted: str
) -> None:
    ca = Certificates.make(tmp_path / "other").ca if trusted == "another CA" else None
    store, service = workstation(tmp_path / "ws", app_server.url, ca)
    make_readings(store, radiologist, 3)

    with pytest.raises(SyncError, match="is not trusted") as login:
        service.log_in(radiologist, PASSWORD, allow_offline=False)
    # As if the CA had changed after a good login: an account and tokens are there.
    store.sync.save_account(
        server_url=app_server.url, username=radiologist, server_user_id="1",
        role="radiologist", profile={"username": radiologist}, password=None,
    )  # fmt: skip
    later = datetime.now(UTC) + timedelta(hours=1)
    service.tokens.save(token_key(app_server.url, radiologist), Tokens("a", "r", later))
    with pytest.raises(SyncError, match="certificate") as sync:
        service.sync_once()

    assert login.value.kind is SyncErrorKind.NETWORK and sync.value.kind is SyncErrorKind.NETWORK
    assert "ca_cert" in sync.value.message
    assert service.status().pending == 3
    assert server_ids(sync_database, radiologist) == []
    service.close()
    store.close()


def test_the_cli_refuses_plain_http_to_another_host(tmp_path: Path) -> None:
    class NoServer:
        url = "http://mammo.hospital.example"
        certs = Certificates.make(tmp_path / "tls")

    env = cli_env(tmp_path / "client", NoServer)

    login = mammo(["login", "--user", "dr-a"], env, stdin="secret\n")
    sync = mammo(["sync", "--once"], env)

    for refused in (login, sync):
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1
        assert "is not encrypted. Use https://" in refused.stderr
