"""Where the PACS is and how to talk to it, taken from the settings once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from core.settings import Settings

RetrieveMethod = Literal["move", "get"]


@dataclass(frozen=True)
class PacsConfig:
    """One PACS as IT configured it (``pacs_*`` settings, see ``docs/pacs.md``).

    ``receive_port`` is where this workstation listens while a C-MOVE sends it images;
    ``retrieve`` picks C-MOVE (the PACS connects back) or C-GET (one connection, for
    workstations the PACS cannot reach). With ``tls`` the PACS's certificate is checked
    against ``ca_cert`` (else the system's certificates).
    """

    host: str
    port: int
    called_ae: str
    calling_ae: str
    receive_port: int = 11112
    tls: bool = False
    ca_cert: Path | None = None
    retrieve: RetrieveMethod = "move"
    connect_timeout_s: float = 10.0
    response_timeout_s: float = 60.0
    attempts: int = 3
    backoff_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PacsConfig | None:
        """The configured PACS, or None when ``pacs_host`` is not set."""
        if not settings.pacs_host:
            return None
        return cls(host=settings.pacs_host.strip(), port=settings.pacs_port,
                   called_ae=settings.pacs_called_ae.strip(),
                   calling_ae=settings.pacs_calling_ae.strip(),
                   receive_port=settings.pacs_receive_port, tls=settings.pacs_tls,
                   ca_cert=settings.ca_cert, retrieve=settings.pacs_retrieve)

    @property
    def peer(self) -> str:
        """The PACS as people name it in messages: ``PACS at host:104``."""
        return f"{self.called_ae} at {self.host}:{self.port}"
