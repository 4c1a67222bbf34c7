"""HTTP calls to the central server, speaking the wire contracts of :mod:`core.contracts`.

Every failure becomes a :class:`SyncError` whose kind tells the UI how to show it and whose
message says what to do; the transport's own exception is chained as the cause. Nothing here
retries or refreshes tokens: that is :mod:`core.sync.session`'s job.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from core import __version__
from core.contracts import (
    AgreementPublic,
    ApprovedModelPublic,
    ErrorPublic,
    LoginRequest,
    ModelReportCreate,
    OutcomeCreate,
    ReadingBatchCreate,
    ReadingBatchItem,
    ReadingBatchPublic,
    ReadingCreate,
    ReadingsPublic,
    RefreshRequest,
    TokenPair,
    UserPublic,
)
from core.errors import SyncError, SyncErrorKind
from core.sync.endpoint import ServerEndpoint

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)

CONNECT_TIMEOUT_S = 10.0
OUT_OF_DATE = {9: "not valid yet", 10: "expired"}
"""OpenSSL's X509_V_ERR_CERT_NOT_YET_VALID and X509_V_ERR_CERT_HAS_EXPIRED."""
READ_TIMEOUT_S = 60.0


class Unauthorized(SyncError):
    """The server refused the credentials (401): refresh the tokens or log in again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind=SyncErrorKind.AUTH)


class RequestRejected(SyncError):
    """The server refused the request itself (413 too large, 422 invalid): retrying the same
    request cannot help, a smaller or corrected one may."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, kind=SyncErrorKind.SERVER)
        self.status = status


class Throttled(SyncError):
    """Too many requests (429), e.g. failed logins; ``retry_after`` seconds if the server said."""

    def __init__(self, message: str, *, retry_after: int | None) -> None:
        super().__init__(message, kind=SyncErrorKind.SERVER)
        self.retry_after = retry_after


class ApiClient:
    """One connection pool to the server. Thread-safe (httpx.Client is); close when done."""

    def __init__(
        self,
        endpoint: ServerEndpoint,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._endpoint = endpoint
        verify: ssl.SSLContext | bool = endpoint.ssl_context() if endpoint.encrypted else True
        self._http = httpx.Client(
            base_url=endpoint.url,
            verify=verify,
            transport=transport,
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            headers={"User-Agent": f"mammo-workstation/{__version__}"},
            follow_redirects=False,  # never follow a redirect away from the checked address
        )

    @property
    def endpoint(self) -> ServerEndpoint:
        return self._endpoint

    def close(self) -> None:
        self._http.close()

    # Authentication ------------------------------------------------------------------------

    def login(self, username: str, password: str) -> TokenPair | None:
        """A new token pair, or None when the server refuses the username or password.

        Raises:
            SyncError: (auth) too many attempts; (network/server) the server was not reached.
        """
        try:
            body = LoginRequest(username=username, password=password)
        except ValidationError:
            return None  # a name or password the server could never accept
        try:
            response = self._send("POST", "/auth/login", json=body.model_dump())
        except Unauthorized:
            return None
        except Throttled as exc:
            raise SyncError(
                "Too many failed logins for this account; wait a few minutes and try again.",
                kind=SyncErrorKind.AUTH,
            ) from exc
        return _parse(response, TokenPair)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Trade a refresh token (once) for a new pair.

        Raises:
            Unauthorized: the refresh token is expired, revoked or already used.
        """
        body = RefreshRequest(refresh_token=refresh_token)
        response = self._send("POST", "/auth/refresh", json=body.model_dump())
        return _parse(response, TokenPair)

    def me(self, access_token: str) -> UserPublic:
        response = self._send("GET", "/users/me", access_token=access_token)
        return _parse(response, UserPublic)

    # Readings ------------------------------------------------------------------------------

    def push(self, access_token: str, readings: list[ReadingCreate]) -> list[ReadingBatchItem]:
        """Send one batch; one result per reading, in order.

        Raises:
            RequestRejected: the batch as a whole was refused (too large, invalid).
        """
        body = ReadingBatchCreate(readings=readings)
        response = self._send(
            "POST",
            "/readings/batch",
            access_token=access_token,
            content=body.model_dump_json().encode(),
            headers={"Content-Type": "application/json"},
        )
        results = _parse(response, ReadingBatchPublic).results
        if [r.id for r in results] != [r.id for r in readings]:
            raise SyncError(
                "The server answered a batch with results for other readings; nothing was "
                "marked as sent. Please report this problem.",
                kind=SyncErrorKind.SERVER,
            )
        return results

    def list_readings(
        self,
        access_token: str,
        *,
        user: str,
        changed_since: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[ReadingsPublic, datetime | None]:
        """One page of ``user``'s readings, oldest first, and the server's clock (its ``Date``
        header) when it answered, if it said."""
        params: dict[str, Any] = {"user": user, "limit": limit}
        if changed_since is not None:
            params["changed_since"] = changed_since.isoformat()
        if cursor is not None:
            params["cursor"] = cursor
        response = self._send("GET", "/readings", access_token=access_token, params=params)
        return _parse(response, ReadingsPublic), _server_time(response)

    # Model versions ------------------------------------------------------------------------

    def approved_model(self, access_token: str) -> ApprovedModelPublic:
        """The model version IT approved for every workstation (``version`` None: none)."""
        response = self._send("GET", "/models/approved", access_token=access_token)
        return _parse(response, ApprovedModelPublic)

    def report_model(self, access_token: str, version_id: int, report: ModelReportCreate
                     ) -> None:
        """Tell the server (its audit log) that this workstation installed, switched to or
        refused a version."""
        self._send(
            "POST",
            f"/models/{version_id}/reports",
            access_token=access_token,
            content=report.model_dump_json().encode(),
            headers={"Content-Type": "application/json"},
        )

    def put_outcome(self, access_token: str, outcome: OutcomeCreate) -> None:
        """Store an outcome under its id (sending it again is harmless).

        Raises:
            RequestRejected: the server refused it as invalid.
        """
        self._send(
            "PUT",
            f"/outcomes/{outcome.id}",
            access_token=access_token,
            content=outcome.model_dump_json().encode(),
            headers={"Content-Type": "application/json"},
        )

    def agreement(self, access_token: str) -> AgreementPublic:
        """Reader-model agreement per reader and model version (the caller's own figures,
        every reader's for an admin)."""
        return _parse(self._send("GET", "/stats/agreement", access_token=access_token),
                      AgreementPublic)

    def download_model_file(
        self,
        access_token: str,
        sha256: str,
        dest: Path,
        *,
        cancel: threading.Event | None = None,
        chunk_bytes: int = 1 << 16,
        on_bytes: Callable[[int], None] | None = None,
    ) -> bool:
        """Fetch the model file named by ``sha256`` into ``dest``, after the bytes ``dest``
        holds already (an HTTP Range request), so a cut-off download resumes. The caller
        checks the hash. Returns False when ``cancel`` was set (``dest`` keeps what came).

        Raises:
            SyncError: the server cannot be reached or refused (404: no such file).
        """
        offset = dest.stat().st_size if dest.exists() else 0
        headers = {"Authorization": f"Bearer {access_token}"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        host = self._endpoint.host
        try:
            with self._http.stream("GET", f"/models/files/{sha256}", headers=headers) as response:
                if response.status_code == 416:
                    return True  # dest holds the whole file already; the hash check decides
                if response.status_code >= 400:
                    response.read()
                    _raise_for_status(response, host)
                resumed = response.status_code == 206 and response.headers.get(
                    "content-range", "").startswith(f"bytes {offset}-")
                with dest.open("ab" if resumed else "wb") as fh:
                    for chunk in response.iter_bytes(chunk_bytes):
                        fh.write(chunk)
                        if on_bytes is not None:
                            on_bytes(len(chunk))
                        if cancel is not None and cancel.is_set():
                            return False
        except httpx.TimeoutException as exc:
            raise SyncError(
                f"The server {host} did not answer in time; the model download resumes on "
                "the next try.",
                kind=SyncErrorKind.NETWORK,
            ) from exc
        except httpx.TransportError as exc:
            raise _transport_error(exc, host) from exc
        return True

    # Plumbing ------------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, access_token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        host = self._endpoint.host
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise SyncError(
                f"The server {host} did not answer in time. Nothing is lost: what waits to be "
                "sent goes out on the next try.",
                kind=SyncErrorKind.NETWORK,
            ) from exc
        except httpx.TransportError as exc:
            raise _transport_error(exc, host) from exc
        _raise_for_status(response, host)
        return response


def _transport_error(exc: httpx.TransportError, host: str) -> SyncError:
    cause = _ssl_cause(exc)
    log.info("Request to %s failed: %r (cause %r)", host, exc, cause)
    if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_code in OUT_OF_DATE:
        # Most often this computer's clock, not the certificate: a certificate issued minutes
        # ago is "not yet valid" to a workstation whose clock runs behind.
        now = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        return SyncError(
            f"The server {host}'s certificate is {OUT_OF_DATE[cause.verify_code]} by this "
            f"computer's clock, which reads {now}. Nothing was sent. If that date or time is "
            "wrong, correct it (or ask IT to); if it is right, ask IT to renew the server's "
            "certificate.",
            kind=SyncErrorKind.NETWORK,
        )
    if isinstance(cause, ssl.SSLCertVerificationError):
        return SyncError(
            f"The server {host} is not trusted: its certificate was not issued by the "
            f"configured CA certificate, has expired, or names another server "
            f"({cause.verify_message}). Nothing was sent. Ask IT to check ca_cert and "
            "server_url.",
            kind=SyncErrorKind.NETWORK,
        )
    if cause is not None:
        return SyncError(
            f"A secure connection to {host} could not be set up. Nothing was sent. Ask IT to "
            "check the server's TLS configuration.",
            kind=SyncErrorKind.NETWORK,
        )
    if isinstance(exc, httpx.ConnectError):
        return SyncError(
            f"The server {host} cannot be reached (offline?). Nothing is lost: what waits to "
            "be sent goes out when it is back.",
            kind=SyncErrorKind.NETWORK,
        )
    return SyncError(
        f"The connection to {host} was lost. Nothing is lost: what waits to be sent goes "
        "out on the next try.",
        kind=SyncErrorKind.NETWORK,
    )


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _raise_for_status(response: httpx.Response, host: str) -> None:
    status = response.status_code
    if status < 400:
        return
    message = _error_message(response)
    log.info("%s %s -> HTTP %d: %s", response.request.method, response.request.url, status, message)
    if status == 401:
        raise Unauthorized(f"The server did not accept the login: {message}")
    if status == 403:
        raise SyncError(f"The server refused this account: {message}", kind=SyncErrorKind.AUTH)
    if status == 429:
        retry_after = response.headers.get("retry-after", "")
        raise Throttled(
            f"The server is busy (HTTP 429): {message}",
            retry_after=int(retry_after) if retry_after.isdigit() else None,
        )
    if status in (413, 422):
        raise RequestRejected(
            f"The server refused the request (HTTP {status}): {message}", status=status
        )
    if status >= 500:
        raise SyncError(
            f"The server {host} is unavailable (HTTP {status}). Nothing is lost: what waits "
            "to be sent goes out on the next try.",
            kind=SyncErrorKind.SERVER,
        )
    raise SyncError(
        f"The server refused the request (HTTP {status}): {message}", kind=SyncErrorKind.SERVER
    )


def _error_message(response: httpx.Response) -> str:
    try:
        return ErrorPublic.model_validate_json(response.content).error.message
    except ValidationError:
        return response.reason_phrase or "no explanation given"


def _parse(response: httpx.Response, model: type[Model]) -> Model:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise SyncError(
            "The server answered in a form this version of Mammo Workstation cannot read; "
            "the server may be newer. Ask IT.",
            kind=SyncErrorKind.SERVER,
        ) from exc


def _server_time(response: httpx.Response) -> datetime | None:
    header = response.headers.get("date")
    if not header:
        return None
    try:
        stamp = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return stamp if stamp.tzinfo is not None else None
