"""Where the server's tokens live: the OS keyring when there is one, else a private file.

A refresh token is as good as a password for as long as it lives, so it never goes into the
store (which IT may back up or copy). The keyring (Windows Credential Manager, macOS
Keychain, Secret Service) is preferred; without one (keyring's "fail" backend, e.g. a
headless Linux box) tokens go to ``tokens.json`` in the data directory, created 0600.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import keyring
import keyring.backends.chainer
import keyring.backends.fail
from keyring.errors import KeyringError, PasswordDeleteError

from core.errors import SyncError, SyncErrorKind

log = logging.getLogger(__name__)

KEYRING_SERVICE = "mammo-workstation"
TOKEN_FILE_NAME = "tokens.json"  # noqa: S105 - a file name


@dataclass(frozen=True)
class Tokens:
    """One login's tokens; ``access_expires_at`` is when the client stops trusting the access
    token and refreshes first (the server may end it earlier: then a 401 triggers a refresh)."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime

    def to_json(self) -> str:
        data = asdict(self)
        data["access_expires_at"] = self.access_expires_at.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Tokens:
        data = json.loads(text)
        return cls(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            access_expires_at=datetime.fromisoformat(data["access_expires_at"]),
        )


def token_key(server_url: str, username: str) -> str:
    """The name one account's tokens are kept under."""
    return f"{server_url}|{username.lower()}"


class TokenStore(Protocol):
    """Keeps tokens by :func:`token_key`. Implementations are safe to share between threads."""

    @property
    def description(self) -> str: ...

    def load(self, key: str) -> Tokens | None: ...

    def save(self, key: str, tokens: Tokens) -> None: ...

    def delete(self, key: str) -> None: ...


class KeyringTokenStore:
    """Tokens in the OS keyring, one entry per account."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend or keyring.get_keyring()

    @property
    def description(self) -> str:
        return f"the system keyring ({self._backend.name})"

    def load(self, key: str) -> Tokens | None:
        try:
            text = self._backend.get_password(KEYRING_SERVICE, key)
        except KeyringError as exc:
            raise _unusable(self.description) from exc
        return _parse(text, where=self.description)

    def save(self, key: str, tokens: Tokens) -> None:
        try:
            self._backend.set_password(KEYRING_SERVICE, key, tokens.to_json())
        except KeyringError as exc:
            raise _unusable(self.description) from exc

    def delete(self, key: str) -> None:
        try:
            self._backend.delete_password(KEYRING_SERVICE, key)
        except PasswordDeleteError:
            return  # nothing was stored
        except KeyringError as exc:
            raise _unusable(self.description) from exc


class FileTokenStore:
    """Tokens in a JSON file that only the user may read (0600), for machines without a
    keyring. The file is replaced atomically, so a crash never leaves half of it."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def description(self) -> str:
        return f"the private file {self._path}"

    def load(self, key: str) -> Tokens | None:
        with self._lock:
            return _parse(self._read().get(key), where=self.description)

    def save(self, key: str, tokens: Tokens) -> None:
        with self._lock:
            entries = self._read()
            entries[key] = tokens.to_json()
            self._write(entries)

    def delete(self, key: str) -> None:
        with self._lock:
            entries = self._read()
            if entries.pop(key, None) is not None:
                self._write(entries)

    def _read(self) -> dict[str, str]:
        try:
            mode = self._path.stat().st_mode
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise _unusable(self.description) from exc
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Someone loosened it: tighten before trusting what is inside.
            log.warning("%s was readable by others; restricting it to its owner", self._path)
            self._path.chmod(0o600)
        try:
            entries = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Token file %s is unreadable (%s); treating it as empty", self._path, exc)
            return {}
        return entries if isinstance(entries, dict) else {}

    def _write(self, entries: dict[str, str]) -> None:
        temp = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL + 0600 from the start: the tokens are never readable by others, not even
            # between creating the file and a chmod.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entries, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self._path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise _unusable(self.description) from exc


def default_token_store(data_dir: Path) -> TokenStore:
    """The OS keyring when one is usable, else ``tokens.json`` (0600) in ``data_dir``."""
    backend = keyring.get_keyring()
    if _is_real(backend):
        return KeyringTokenStore(backend)
    return FileTokenStore(Path(data_dir) / TOKEN_FILE_NAME)


def _is_real(backend: keyring.backend.KeyringBackend) -> bool:
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        return bool(backend.backends)
    return True


def _parse(text: str | None, *, where: str) -> Tokens | None:
    if text is None:
        return None
    try:
        return Tokens.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("Stored tokens in %s are unreadable (%s); log in again", where, exc)
        return None


def _unusable(where: str) -> SyncError:
    return SyncError(
        f"The server login could not be read or kept in {where}. Unlock it or ask IT, then "
        "log in again.",
        kind=SyncErrorKind.AUTH,
    )
