"""Tokens go to the OS keyring when there is one, else to a file only the user can read."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail

from core.sync import FileTokenStore, KeyringTokenStore, default_token_store
from core.sync.tokens import KEYRING_SERVICE, Tokens, token_key

TOKENS = Tokens("access", "refresh", datetime(2025, 1, 1, 12, tzinfo=UTC))


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


def test_without_a_keyring_tokens_go_to_a_private_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(keyring, "get_keyring", keyring.backends.fail.Keyring)
    store = default_token_store(tmp_path)
    key = token_key("https://mammo.test", "Dr-A")

    store.save(key, TOKENS)

    assert isinstance(store, FileTokenStore)
    assert store.path == tmp_path / "tokens.json"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load(token_key("https://mammo.test", "dr-a")) == TOKENS
    assert list(tmp_path.iterdir()) == [store.path]  # no temporary file left behind
    store.delete(key)
    assert store.load(key) is None


def test_a_token_file_opened_to_others_is_closed_again(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save("k", TOKENS)
    store.path.chmod(0o644)

    assert store.load("k") == TOKENS
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_with_a_keyring_tokens_never_touch_the_disk(tmp_path: Path, monkeypatch) -> None:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    store = default_token_store(tmp_path)

    store.save("k", TOKENS)

    assert isinstance(store, KeyringTokenStore)
    assert store.load("k") == TOKENS
    assert (KEYRING_SERVICE, "k") in backend.entries
    assert list(tmp_path.iterdir()) == []
    store.delete("k")
    store.delete("k")  # already gone: fine
    assert store.load("k") is None


def test_a_damaged_token_file_means_logging_in_again(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    path.chmod(0o600)

    assert FileTokenStore(path).load("k") is None
