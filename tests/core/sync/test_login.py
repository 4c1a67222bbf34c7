"""Online login keeps tokens and an offline verifier; offline login works for
offline_login_days after it, then the server is needed again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.errors import SyncError, SyncErrorKind
from core.store import Store
from core.sync import ServerAuthenticator, SyncService
from core.sync.tokens import token_key
from tests.core.sync.conftest import SERVER_URL
from tests.core.sync.fake_server import PASSWORD, FakeServer


class Network:
    """A switch between the fake server and a cable pulled out."""

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        self.up = True

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            if not self.up:
                raise httpx.ConnectError("connection refused", request=request)
            return self.fake.handle(request)

        return httpx.MockTransport(handle)


@pytest.fixture
def network(fake: FakeServer) -> Network:
    return Network(fake)


@pytest.fixture
def clock() -> list[datetime]:
    return [datetime.now(UTC)]


@pytest.fixture
def online(make_service, network: Network, clock) -> SyncService:
    service = make_service(transport=network.transport(), clock=lambda: clock[0])
    result = service.log_in("dr-a", PASSWORD)
    assert result is not None and result.online
    return service


def test_online_login_keeps_profile_tokens_and_verifier(online: SyncService, store: Store):
    account = store.sync.current_account(SERVER_URL)

    assert account is not None and account.username == "dr-a"
    assert account.server_user_id == "7" and account.role == "radiologist"
    assert account.profile["username"] == "dr-a" and account.has_verifier
    assert online.tokens.load(token_key(SERVER_URL, "dr-a")) is not None
    user = store.get_user(account.user_id)
    assert user is not None and user.server_user_id == "7"


def test_offline_login_works_within_the_allowed_days(online, network, clock) -> None:
    network.up = False
    clock[0] += timedelta(days=6, hours=23)

    result = online.log_in("dr-a", PASSWORD)
    wrong = online.log_in("dr-a", "not the password")

    assert result is not None and not result.online and result.user.username == "dr-a"
    assert wrong is None


def test_offline_login_needs_the_server_again_after_the_allowed_days(
    online, network, clock
) -> None:
    network.up = False
    clock[0] += timedelta(days=7, minutes=1)

    with pytest.raises(SyncError, match="online login on this workstation in the last 7 days"):
        online.log_in("dr-a", PASSWORD)


def test_a_stranger_cannot_log_in_offline(online, network) -> None:
    network.up = False
    with pytest.raises(SyncError) as refused:
        online.log_in("dr-z", PASSWORD)
    assert refused.value.kind is SyncErrorKind.NETWORK


def test_a_password_refused_online_stops_working_offline(online, network, fake) -> None:
    fake.password = "changed by IT"

    assert online.log_in("dr-a", PASSWORD) is None
    network.up = False
    with pytest.raises(SyncError, match="needs an online login"):
        online.log_in("dr-a", PASSWORD)


def test_offline_login_can_be_turned_off(make_service, network, store: Store) -> None:
    service = make_service(transport=network.transport(), offline_login_days=0)
    assert service.log_in("dr-a", PASSWORD) is not None
    assert not store.sync.current_account(SERVER_URL).has_verifier
    network.up = False

    with pytest.raises(SyncError, match="offline login is turned off"):
        service.log_in("dr-a", PASSWORD)


def test_the_cli_login_never_falls_back_to_offline(online, network) -> None:
    network.up = False
    with pytest.raises(SyncError) as refused:
        online.log_in("dr-a", PASSWORD, allow_offline=False)
    assert refused.value.kind is SyncErrorKind.NETWORK


def test_the_app_authenticator_speaks_for_the_server(online, network, tmp_path: Path) -> None:
    authenticator = ServerAuthenticator(online)

    assert authenticator.needs_first_run() is False
    assert authenticator.authenticate("dr-a", "wrong") is None
    user = authenticator.authenticate("dr-a", PASSWORD)
    assert user is not None and user.username == "dr-a"
    network.up = False
    assert authenticator.authenticate("dr-a", PASSWORD) == user
    with pytest.raises(SyncError, match="ask IT"):
        authenticator.create_account("new", "password")
