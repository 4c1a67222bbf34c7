"""Receiving images from the PACS: the C-STORE handler used by C-MOVE (on this workstation's
own storage server, ``pacs_receive_port``) and C-GET (on the association itself)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.events import Event
from pynetdicom.transport import ThreadedAssociationServer

from core.errors import PacsError, PacsErrorKind
from core.pacs.config import PacsConfig
from core.pacs.inbox import StudyInbox

log = logging.getLogger(__name__)

# The storage classes mammograms come in (MG, DX and CR series; digitised film as Secondary
# Capture): a short list keeps the association (and setting it up) small.
IMAGE_STORAGE = (
    "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1",  # Digital Mammography X-Ray - For Processing
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # Digital X-Ray - For Processing
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture (digitised film)
)
OUT_OF_RESOURCES = 0xA700
NOT_WANTED = 0xC211  # "cannot understand": an image of a study nobody asked for

Stored = Callable[[str], None]


class StudySink:
    """C-STORE handler that keeps images of the studies being retrieved, in the inbox.

    ``on_stored(sop_instance_uid)`` is called after each image is on disk (on a network
    thread). An image of another study is refused: nothing lands here unasked.
    """

    def __init__(self, inbox: StudyInbox, *, studies: Collection[str],
                 on_stored: Stored | None = None) -> None:
        self._inbox = inbox
        self._studies = set(studies)
        self._on_stored = on_stored
        self._lock = threading.Lock()
        self.received = 0

    def __call__(self, event: Event) -> int:
        try:
            dataset = event.dataset
            study = str(dataset.get("StudyInstanceUID", ""))
            sop = str(event.request.AffectedSOPInstanceUID or dataset.get("SOPInstanceUID", ""))
        except Exception:  # an undecodable data set: refuse it, never die on the network thread
            log.exception("PACS: an image received could not be decoded")
            return NOT_WANTED
        if study not in self._studies:
            log.warning("PACS: refused an image of study %s, which was not asked for", study)
            return NOT_WANTED
        try:
            self._inbox.write(study, sop, event.encoded_dataset())
        except (OSError, PacsError) as exc:
            log.error("PACS: image %s could not be kept: %s", sop, exc)
            return OUT_OF_RESOURCES
        with self._lock:
            self.received += 1
        if self._on_stored is not None:
            self._on_stored(sop)
        return 0x0000


def start_receiver(config: PacsConfig, sink: StudySink) -> ThreadedAssociationServer:
    """This workstation's storage server on ``pacs_receive_port`` (all interfaces: the PACS
    connects from the network), for the length of one C-MOVE."""
    ae = AE(ae_title=config.calling_ae)
    ae.network_timeout = config.response_timeout_s
    ae.dimse_timeout = config.response_timeout_s
    for uid in IMAGE_STORAGE:
        ae.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
    try:
        return ae.start_server(("", config.receive_port), block=False,
                               evt_handlers=[(evt.EVT_C_STORE, sink)])
    except OSError as exc:
        raise PacsError(
            f"This workstation cannot receive images on port {config.receive_port} "
            "(pacs_receive_port): another program uses it or it is not allowed. Choose a "
            "free port and tell the PACS, or set pacs_retrieve = \"get\".",
            kind=PacsErrorKind.UNREACHABLE, transient=False) from exc
