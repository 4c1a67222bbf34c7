"""Retrieving a study from the PACS into the inbox: C-MOVE (the PACS sends the images to this
workstation's storage server) or C-GET (on the same association).

Only image series are fetched (MG, and DX/CR for older mammography systems): a study may also
hold reports and captures, including this workstation's own results sent earlier, which are
not mammograms. Images already in the inbox are not fetched again, so trying again after a
retrieve cut short fetches only what is missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from core.errors import PacsError, PacsErrorKind
from core.pacs.config import PacsConfig
from core.pacs.connection import associate, unreachable, with_retries
from core.pacs.inbox import StudyInbox
from core.pacs.query import PENDING, InstanceRef, StudyUid, list_instances
from core.pacs.receiver import IMAGE_STORAGE, StudySink, start_receiver

log = logging.getLogger(__name__)

FIND = StudyRootQueryRetrieveInformationModelFind
MOVE = StudyRootQueryRetrieveInformationModelMove
GET = StudyRootQueryRetrieveInformationModelGet
IMAGE_MODALITIES = ("MG", "DX", "CR")
MOVE_DESTINATION_UNKNOWN = 0xA801
OUT_OF_RESOURCES = (0xA700, 0xA701, 0xA702)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Retrieved:
    """A study in the inbox: its images' files, and whether all of them arrived (False only
    when cancelled; a study that stays short raises instead)."""

    study_uid: StudyUid
    folder: Path
    files: tuple[Path, ...]
    expected: int
    complete: bool


def retrieve_study(config: PacsConfig, study_uid: str, *, inbox: StudyInbox,
                   cancel: threading.Event | None = None,
                   progress: Progress | None = None) -> Retrieved:
    """Fetch the study's images that are not in ``inbox`` yet, trying again with backoff when
    the PACS is down or the transfer stops part-way.

    ``progress(received, expected)`` follows each image (on a network thread).

    Raises
    ------
    PacsError
        The PACS is unreachable, refuses this workstation, does not know it as a C-MOVE
        destination, holds no images for the study, or images are still missing after the
        last try (those that arrived are kept).
    """
    uid = StudyUid(study_uid)
    inbox.folder(uid)  # refuses a malformed UID before anything is asked

    def attempt() -> Retrieved:
        with associate(config, [FIND]) as assoc:
            every = list_instances(assoc, uid, config=config, cancel=cancel)
        wanted = [ref for ref in every if ref.modality in IMAGE_MODALITIES]
        if cancel is not None and cancel.is_set():
            return _result(inbox, uid, wanted, complete=False)
        if not wanted:
            raise PacsError(f"The PACS ({config.peer}) holds no mammograms for study {uid}.",
                            kind=PacsErrorKind.REFUSED, transient=False)
        have = inbox.present(uid)
        missing = [ref for ref in wanted if ref.sop_instance_uid not in have]
        expected = len(wanted)
        count = [expected - len(missing)]

        def stored(_sop: str) -> None:
            count[0] += 1
            if progress is not None:
                progress(min(count[0], expected), expected)

        if progress is not None:
            progress(count[0], expected)
        if missing:
            sink = StudySink(inbox, studies=[uid], on_stored=stored)
            fetch = _move if config.retrieve == "move" else _get
            requests = _requests(wanted, missing, only_images=len(wanted) == len(every))
            fetch(config, uid, requests, sink=sink, cancel=cancel)
        if cancel is not None and cancel.is_set():
            return _result(inbox, uid, wanted, complete=False)
        short = [ref for ref in wanted if ref.sop_instance_uid not in inbox.present(uid)]
        if short:
            raise PacsError(
                f"Only {expected - len(short)} of {expected} images of study {uid} arrived "
                f"from the PACS ({config.peer}); those are kept, and retrieving again fetches "
                "the rest.", kind=PacsErrorKind.INCOMPLETE, transient=True)
        return _result(inbox, uid, wanted, complete=True)

    return with_retries(attempt, config=config, cancel=cancel)


def _result(inbox: StudyInbox, uid: StudyUid, wanted: Sequence[InstanceRef], *,
            complete: bool) -> Retrieved:
    sops = {ref.sop_instance_uid for ref in wanted}
    files = tuple(p for p in inbox.files(uid) if p.stem in sops)
    return Retrieved(study_uid=uid, folder=inbox.folder(uid), files=files,
                     expected=len(wanted), complete=complete)


def _requests(wanted: Sequence[InstanceRef], missing: Sequence[InstanceRef], *,
              only_images: bool) -> list[tuple[str | None, list[str] | None]]:
    """What to ask for: (None, None) for the whole study, when it holds only images and none
    is here yet (one request); else per series, (series UID, None) for the whole series or
    (series UID, the SOP Instance UIDs still missing)."""
    if only_images and len(missing) == len(wanted):
        return [(None, None)]
    by_series: dict[str, list[str]] = {}
    for ref in missing:
        by_series.setdefault(ref.series_uid, []).append(ref.sop_instance_uid)
    sizes: dict[str, int] = {}
    for ref in wanted:
        sizes[ref.series_uid] = sizes.get(ref.series_uid, 0) + 1
    return [(series, None if len(sops) == sizes[series] else sops)
            for series, sops in by_series.items()]


def _identifiers(study_uid: str, requests: Iterable[tuple[str | None, list[str] | None]]
                 ) -> list[Dataset]:
    out = []
    for series, sops in requests:
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY" if series is None else "SERIES" if sops is None \
            else "IMAGE"
        ds.StudyInstanceUID = study_uid
        if series is not None:
            ds.SeriesInstanceUID = series
        if sops is not None:
            ds.SOPInstanceUID = sops
        out.append(ds)
    return out


def _move(config: PacsConfig, study_uid: str,
          requests: list[tuple[str | None, list[str] | None]],
          *, sink: StudySink, cancel: threading.Event | None) -> None:
    server = start_receiver(config, sink)
    try:
        with associate(config, [MOVE]) as assoc:
            for identifier in _identifiers(study_uid, requests):
                responses = assoc.send_c_move(identifier, config.calling_ae, MOVE)
                if not _follow(responses, assoc, config=config, cancel=cancel, moving=True,
                               received=lambda: sink.received):
                    return
    finally:
        server.shutdown()


def _get(config: PacsConfig, study_uid: str,
         requests: list[tuple[str | None, list[str] | None]],
         *, sink: StudySink, cancel: threading.Event | None) -> None:
    with associate(config, [GET, *IMAGE_STORAGE], scp_roles=IMAGE_STORAGE,
                   handlers=[(evt.EVT_C_STORE, sink)]) as assoc:
        for identifier in _identifiers(study_uid, requests):
            if not _follow(assoc.send_c_get(identifier, GET), assoc, config=config,
                           cancel=cancel, moving=False, received=lambda: sink.received):
                return


def _follow(responses: Iterable[tuple[Dataset, Dataset | None]], assoc: Association, *,
            config: PacsConfig, cancel: threading.Event | None, moving: bool,
            received: Callable[[], int]) -> bool:
    """Read a C-MOVE/C-GET's responses to the end; False when cancelled (aborted).
    ``received()`` counts the images that arrived so far."""
    for status, _identifier in responses:
        if cancel is not None and cancel.is_set():
            assoc.abort()
            return False
        code = int(status.get("Status", -1)) if status else -1
        if code in PENDING:
            continue
        if code in (0x0000, 0xB000):  # done; a warning's missing images are counted after
            return True
        if code == -1:
            raise unreachable(config, " (the connection was lost during the retrieve)")
        if moving and (code == MOVE_DESTINATION_UNKNOWN
                       or (code not in OUT_OF_RESOURCES and received() == 0)):
            # 0xA801 says it; some PACS (Orthanc) answer a plain failure when they do not
            # know the destination or cannot connect to it, before sending anything.
            raise PacsError(
                f"The PACS ({config.peer}) could not send the images to this workstation: "
                f"it does not know it as a C-MOVE destination or cannot connect to it. IT "
                f"must add it to the PACS as AE title {config.calling_ae}, port "
                f"{config.receive_port} (pacs_receive_port), at this computer's address, and "
                "let that port through the firewall (docs/pacs.md). DICOM status "
                f"0x{code:04X}.", kind=PacsErrorKind.DESTINATION, transient=False)
        raise PacsError(
            f"The PACS ({config.peer}) refused to send the study (DICOM status 0x{code:04X}).",
            kind=PacsErrorKind.REFUSED, transient=code in OUT_OF_RESOURCES)
    raise unreachable(config, " (the connection was lost during the retrieve)")
