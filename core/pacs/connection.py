"""Opening a DICOM association with the PACS, and trying again with backoff.

Every failure becomes a :class:`core.errors.PacsError` whose message says what to check; the
pynetdicom detail stays in the log.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from pynetdicom import AE, build_role
from pynetdicom.association import Association

from core.errors import PacsError, PacsErrorKind
from core.pacs.config import PacsConfig

log = logging.getLogger(__name__)

T = TypeVar("T")
Handlers = Sequence[tuple[Any, ...]]


def unreachable(config: PacsConfig, detail: str = "") -> PacsError:
    return PacsError(
        f"The PACS ({config.peer}) cannot be reached{detail}. Check the network, the PACS "
        "host and port (pacs_host, pacs_port) and that the PACS is running; readings on "
        "this workstation are not affected.",
        kind=PacsErrorKind.UNREACHABLE, transient=True)


def rejected(config: PacsConfig, *, dropped: bool = False) -> PacsError:
    how = "ended the connection before accepting it" if dropped else "refused the connection"
    busy = " If they are right, the PACS may be busy: try again." if dropped else ""
    return PacsError(
        f"The PACS ({config.peer}) {how}. Check its AE title "
        f"(pacs_called_ae = {config.called_ae}) and that the PACS knows this workstation as "
        f"{config.calling_ae} (pacs_calling_ae); IT can see docs/pacs.md.{busy}",
        kind=PacsErrorKind.REJECTED, transient=False)


@contextmanager
def associate(config: PacsConfig, contexts: Sequence[str], *,
              scp_roles: Sequence[str] = (), handlers: Handlers = ()) -> Iterator[Association]:
    """An established association with the PACS proposing ``contexts`` (SOP class UIDs),
    released when the block ends (aborted if it raises).

    ``scp_roles`` are storage classes this workstation accepts on the same association
    (C-GET). Raises :class:`PacsError` (unreachable or rejected).
    """
    ae = AE(ae_title=config.calling_ae)
    ae.connection_timeout = config.connect_timeout_s
    ae.acse_timeout = config.connect_timeout_s
    ae.network_timeout = config.response_timeout_s
    ae.dimse_timeout = config.response_timeout_s
    for uid in contexts:
        ae.add_requested_context(uid)
    roles = [build_role(uid, scp_role=True) for uid in scp_roles]
    tls_args = (_tls_context(config), config.host) if config.tls else None
    try:
        assoc = ae.associate(config.host, config.port, ae_title=config.called_ae,
                             ext_neg=roles or None, evt_handlers=list(handlers) or None,
                             tls_args=tls_args)
    except (OSError, ssl.SSLError) as exc:
        raise unreachable(config) from exc
    if assoc.is_rejected:
        raise rejected(config)
    if not assoc.is_established:
        # A PACS that closes the socket right after its rejection can look like one that
        # never answered; a port that takes connections tells them apart.
        problem = _tls_problem(config)
        if problem is None and _port_open(config):
            problem = rejected(config, dropped=True)
        raise problem or unreachable(config)
    try:
        yield assoc
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()
    finally:
        ae.shutdown()


def _port_open(config: PacsConfig) -> bool:
    try:
        with socket.create_connection((config.host, config.port),
                                      timeout=config.connect_timeout_s):
            return True
    except OSError:
        return False


def _tls_problem(config: PacsConfig) -> PacsError | None:
    """Why a TLS connection failed, when the handshake says (pynetdicom only logs it); or,
    without TLS, that the port expects it."""
    if not config.tls:
        return _expects_tls(config)
    try:
        with socket.create_connection((config.host, config.port),
                                      timeout=config.connect_timeout_s) as raw, \
                _tls_context(config).wrap_socket(raw, server_hostname=config.host):
            return None
    except ssl.SSLCertVerificationError as exc:
        return PacsError(
            f"The PACS's certificate ({config.peer}) is not trusted: {exc.verify_message}. "
            "IT sets ca_cert to the hospital CA that signed it.",
            kind=PacsErrorKind.UNREACHABLE, transient=False)
    except ssl.SSLError as exc:
        return PacsError(
            f"The PACS ({config.peer}) does not speak DICOM over TLS on this port, or refuses "
            f"this workstation's TLS ({exc.reason}); check pacs_port and pacs_tls.",
            kind=PacsErrorKind.UNREACHABLE, transient=False)
    except OSError:
        return None


def _expects_tls(config: PacsConfig) -> PacsError | None:
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE  # only asks whether TLS answers; nothing is sent
    try:
        with socket.create_connection((config.host, config.port),
                                      timeout=config.connect_timeout_s) as raw, \
                probe.wrap_socket(raw, server_hostname=config.host):
            pass
    except (OSError, ssl.SSLError):
        return None
    return PacsError(f"The PACS ({config.peer}) expects DICOM over TLS on this port: IT sets "
                     "pacs_tls = true (and ca_cert).", kind=PacsErrorKind.UNREACHABLE,
                     transient=False)


def _tls_context(config: PacsConfig) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(
            cafile=str(config.ca_cert) if config.ca_cert is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise PacsError(
            f"The CA certificate {config.ca_cert} cannot be read for the PACS's TLS; check "
            "ca_cert.", kind=PacsErrorKind.UNREACHABLE, transient=False) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def with_retries(action: Callable[[], T], *, config: PacsConfig,
                 cancel: threading.Event | None = None,
                 on_retry: Callable[[PacsError, float], None] | None = None) -> T:
    """``action()``, tried again after a transient :class:`PacsError` (PACS down or busy, a
    retrieve cut short) up to ``config.attempts`` times, waiting ``backoff_s``, then twice as
    long each time. A configuration error (wrong AE title) is raised at once; so is the last
    transient one. A cancel during the wait raises the error that caused it.
    """
    attempt = 1
    while True:
        try:
            return action()
        except PacsError as exc:
            if not exc.transient or attempt >= config.attempts:
                raise
            delay = config.backoff_s * 2 ** (attempt - 1)
            log.warning("PACS: %s; trying again in %.1f s (attempt %d of %d)", exc, delay,
                        attempt + 1, config.attempts)
            if on_retry is not None:
                on_retry(exc, delay)
            if cancel is not None and cancel.wait(delay):
                raise
            if cancel is None:
                threading.Event().wait(delay)
            attempt += 1
