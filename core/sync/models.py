"""The server's model routes as :class:`core.modelstore.ModelServer`, called as the account
logged in (tokens refreshed on the way, as for readings)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from core.contracts import ApprovedModelPublic, ModelReportCreate
from core.sync.client import ApiClient
from core.sync.session import ServerSession

DOWNLOAD_CHUNK = 1 << 16


class SessionModelServer:
    """Model versions from ``client`` as the account of ``session``."""

    def __init__(self, client: ApiClient, session: ServerSession, *,
                 chunk_bytes: int = DOWNLOAD_CHUNK) -> None:
        self._client = client
        self._session = session
        self._chunk = chunk_bytes

    def approved(self) -> ApprovedModelPublic:
        return self._session.call(self._client.approved_model)

    def download(self, sha256: str, dest: Path, *, cancel: threading.Event,
                 on_bytes: Callable[[int], None]) -> bool:
        return self._session.call(lambda token: self._client.download_model_file(
            token, sha256, dest, cancel=cancel, chunk_bytes=self._chunk, on_bytes=on_bytes))

    def report(self, version_id: int, report: ModelReportCreate) -> None:
        self._session.call(lambda token: self._client.report_model(token, version_id, report))
