"""C-STORE: sending result objects (files) to the PACS, trying again with backoff when it is
down or busy. A refusal of one object does not stop the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import pydicom

from core.errors import PacsError, PacsErrorKind
from core.pacs.config import PacsConfig
from core.pacs.connection import associate, unreachable, with_retries

log = logging.getLogger(__name__)

ACCEPTED = (0x0000, 0xB000, 0xB006, 0xB007)  # success, or stored with a warning
OUT_OF_RESOURCES = range(0xA700, 0xA800)


def send_files(config: PacsConfig, files: Sequence[Path], *,
               cancel: threading.Event | None = None) -> dict[Path, PacsError | None]:
    """Send each DICOM file; per file None when the PACS stored it, else why not.

    Files the PACS refused for good (a status it will not change its mind on) are not tried
    again; when it is unreachable or out of resources the remaining files are tried again
    with backoff, and keep the last error if they never go.
    """
    classes = sorted({str(pydicom.dcmread(p, stop_before_pixels=True).SOPClassUID)
                      for p in files})
    pending = list(files)
    outcomes: dict[Path, PacsError | None] = {}

    def attempt() -> None:
        with associate(config, classes) as assoc:
            for path in list(pending):
                if cancel is not None and cancel.is_set():
                    return
                status = assoc.send_c_store(path)
                code = int(status.get("Status", -1)) if status else -1
                if code in ACCEPTED:
                    outcomes[path] = None
                    pending.remove(path)
                elif code == -1:
                    raise unreachable(config, " (the connection was lost while sending)")
                elif code in OUT_OF_RESOURCES:
                    raise _refused(config, code, transient=True)
                else:
                    outcomes[path] = _refused(config, code, transient=False)
                    pending.remove(path)

    try:
        with_retries(attempt, config=config, cancel=cancel)
    except PacsError as exc:
        for path in pending:
            outcomes[path] = exc
    return outcomes


def _refused(config: PacsConfig, code: int, *, transient: bool) -> PacsError:
    why = "it is out of resources (full or busy)" if transient else "it does not accept it"
    return PacsError(f"The PACS ({config.peer}) refused the result: {why} (DICOM status "
                     f"0x{code:04X}). It is kept on this workstation and can be sent again.",
                     kind=PacsErrorKind.REFUSED, transient=transient)


