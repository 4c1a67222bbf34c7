"""The client talks HTTPS verified against the hospital CA, and plain HTTP only to itself."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from core.errors import SyncError, SyncErrorKind
from core.store import Store
from core.sync import FileTokenStore, ServerEndpoint, SyncService


@pytest.mark.parametrize(
    "url",
    ["http://mammo.hospital.example", "http://10.0.0.5:8000", "http://[2001:db8::1]/"],
)
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(SyncError, match="not encrypted. Use https://") as refused:
        ServerEndpoint.parse(url)
    assert refused.value.kind is SyncErrorKind.NETWORK


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://localhost:8000/", "http://[::1]:8000", "http://127.8.9.1"],
)
def test_plain_http_to_this_computer_is_allowed(url: str) -> None:
    assert ServerEndpoint.parse(url).url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://mammo.hospital.example",
        "https://user:secret@mammo.hospital.example",
        "https://mammo.hospital.example/?next=evil",
        "https://mammo.hospital.example:99999",
        "mammo.hospital.example",
        "",
    ],
)
def test_addresses_that_cannot_be_used_are_refused_with_the_setting_to_fix(url: str) -> None:
    with pytest.raises(SyncError, match="server_url"):
        ServerEndpoint.parse(url)


def test_a_missing_ca_file_is_named_in_the_error(tmp_path: Path) -> None:
    endpoint = ServerEndpoint.parse("https://mammo.hospital.example", ca_cert=tmp_path / "ca.pem")
    with pytest.raises(SyncError, match=r"ca\.pem cannot be used") as refused:
        endpoint.ssl_context()
    assert refused.value.kind is SyncErrorKind.NETWORK


def test_sync_to_a_plain_http_host_never_opens_a_connection(tmp_path: Path) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a request was made to {request.url}")

    with Store.open(tmp_path / "mammo.sqlite3") as store:
        service = SyncService(
            store=store,
            server_url="http://mammo.hospital.example",
            ca_cert=None,
            tokens=FileTokenStore(tmp_path / "tokens.json"),
            offline_login_days=7,
            transport=httpx.MockTransport(never),
        )
        with pytest.raises(SyncError, match="not encrypted"):
            service.log_in("dr-a", "password")
        with pytest.raises(SyncError, match="not encrypted"):
            service.sync_once()
        status = service.status()

    assert status.last_error is not None and "not encrypted" in status.last_error
    assert status.online is False
