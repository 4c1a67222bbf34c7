"""The server's address and how to trust it: HTTPS verified against the hospital's CA.

Plain HTTP is refused for anything but this computer (loopback): readings, notes and tokens
would cross the hospital network readable by anyone on it.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import SyncError, SyncErrorKind


@dataclass(frozen=True)
class ServerEndpoint:
    """A checked server address (no trailing slash) and the CA file that vouches for it."""

    url: str
    ca_cert: Path | None = None

    @classmethod
    def parse(cls, url: str, *, ca_cert: Path | None = None) -> ServerEndpoint:
        """Check ``url``: https, or http to loopback only; no credentials, query or fragment.

        Raises:
            SyncError: (network) the address cannot be used, with what to change.
        """
        text = (url or "").strip()
        try:
            parts = urlsplit(text)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:
            raise _bad(text, "it is not a valid address") from exc
        if parts.scheme not in ("https", "http") or not host:
            raise _bad(text, "it must look like https://mammo.hospital.example")
        if parts.username is not None or parts.password is not None:
            raise _bad(text, "it must not contain a user name or password")
        if parts.query or parts.fragment:
            raise _bad(text, "it must not contain '?' or '#'")
        if parts.scheme == "http" and not is_loopback(host):
            raise SyncError(
                f"The server address {text} is not encrypted. Use https:// (plain http is only "
                "allowed to this computer itself).",
                kind=SyncErrorKind.NETWORK,
            )
        return cls(url=text.rstrip("/"), ca_cert=None if ca_cert is None else Path(ca_cert))

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def encrypted(self) -> bool:
        return self.url.startswith("https://")

    def ssl_context(self) -> ssl.SSLContext:
        """TLS 1.2 or newer, verified against ``ca_cert`` alone when set (the hospital PKI),
        else against the system's trusted CAs; host names are always checked.

        Raises:
            SyncError: (network) the CA file is missing or not a certificate.
        """
        try:
            if self.ca_cert is None:
                context = ssl.create_default_context()
            else:
                context = ssl.create_default_context(cafile=str(self.ca_cert))
        except (OSError, ssl.SSLError) as exc:
            raise SyncError(
                f"The CA certificate file {self.ca_cert} cannot be used (it is missing or not a "
                "PEM certificate). Ask IT for the hospital's CA certificate and set ca_cert.",
                kind=SyncErrorKind.NETWORK,
            ) from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this computer (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bad(url: str, why: str) -> SyncError:
    return SyncError(
        f"The server address '{url}' cannot be used: {why}. Check server_url in the settings.",
        kind=SyncErrorKind.NETWORK,
    )
