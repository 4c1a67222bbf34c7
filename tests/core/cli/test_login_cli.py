"""``mammo login`` then ``mammo predict``: the readings are the logged-in account's (online or
offline login), so ``mammo sync`` sends them; without a login they stay the OS user's."""

from __future__ import annotations

import getpass
import io
import json
import sys
from pathlib import Path

import httpx
import pytest

from core.cli.main import main
from core.settings import load_settings
from core.sync import FileTokenStore
from core.sync.client import ApiClient
from tests.app.factories import FakeClassifier, write_mammogram
from tests.core.sync.conftest import SERVER_URL
from tests.core.sync.fake_server import PASSWORD, FakeServer


class Workstation:
    """The ``mammo`` commands of one workstation, talking to a fake server through a cable
    that can be pulled out, with a fake model."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = FakeServer()
        self.online = True
        self.images = folder / "images"
        self._monkeypatch = monkeypatch
        monkeypatch.setenv("MAMMO_SERVER_URL", SERVER_URL)
        monkeypatch.setattr("core.sync.service.ApiClient", self._client)
        monkeypatch.setattr("core.sync.service.default_token_store",
                            lambda data_dir: FileTokenStore(data_dir / "tokens.json"))
        monkeypatch.setattr("core.cli.predict.load_model",
                            lambda _args: (load_settings(), FakeClassifier()))

    def _client(self, endpoint, *, transport=None) -> ApiClient:
        def handle(request: httpx.Request) -> httpx.Response:
            if not self.online:
                raise httpx.ConnectError("connection refused", request=request)
            return self.server.handle(request)

        return ApiClient(endpoint, transport=httpx.MockTransport(handle))

    def mammo(self, *argv: str, stdin: str = "") -> int:
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return main(list(argv))

    def predict(self, n: int) -> int:
        return self.mammo("predict", str(write_mammogram(self.images / f"m{n}.png", n=n)))


@pytest.fixture
def workstation(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Workstation:
    return Workstation(isolated_env, monkeypatch)


def history_users(workstation: Workstation, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert workstation.mammo("history", "--json") == 0
    return [json.loads(line)["user"] for line in capsys.readouterr().out.splitlines()]


def test_readings_after_a_login_are_the_accounts_and_sync(workstation, capsys) -> None:
    assert workstation.mammo("login", "--user", "dr-a", stdin=PASSWORD + "\n") == 0
    assert workstation.predict(1) == 0
    predicted = capsys.readouterr()

    code = workstation.mammo("sync", "--once")

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "0 left to send" in captured.out and "other users" not in captured.err
    assert "kept as dr-a" in predicted.err
    assert len(workstation.server.readings) == 1
    assert history_users(workstation, capsys) == ["dr-a"]


def test_an_offline_login_makes_the_command_line_read_as_that_account(
    workstation, capsys
) -> None:
    assert workstation.mammo("login", "--user", "dr-a", stdin=PASSWORD + "\n") == 0
    workstation.online = False

    wrong = workstation.mammo("login", "--user", "dr-a", stdin="not the password\n")
    code = workstation.mammo("login", "--user", "dr-a", stdin=PASSWORD + "\n")

    assert wrong == 1
    assert code == 0 and "without the server" in capsys.readouterr().out
    assert workstation.predict(2) == 0
    assert history_users(workstation, capsys) == ["dr-a"]
    workstation.online = True
    assert workstation.mammo("sync", "--once") == 0
    assert len(workstation.server.readings) == 1


def test_without_a_login_readings_are_the_operating_system_users(workstation, capsys) -> None:
    assert workstation.predict(3) == 0

    assert history_users(workstation, capsys) == [getpass.getuser()]
