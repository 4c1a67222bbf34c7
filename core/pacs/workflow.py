"""The PACS as the command line and the app use it: one object built from the settings and
the store, holding where retrieved studies and results go.

    query -> retrieve into the inbox -> (read as exams by the reading pipeline) -> the reader
    signs -> export: SR and captures written to the results folder, then sent to the PACS

Results leave the workstation only when the reader has signed every breast of the exam,
unless IT enabled automatic sending (``pacs_auto_send``); then results are sent when the exam
has been read, marked as neither final nor verified, and sent again, verified, once signed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import PacsError, PacsErrorKind
from core.imaging import iter_image_paths
from core.pacs import query as pacs_query
from core.pacs.config import PacsConfig
from core.pacs.inbox import StudyInbox, check_uid
from core.pacs.outcome import collect_outcome
from core.pacs.query import StudyQuery, StudySummary
from core.pacs.results import DeliveryReport, HeatmapSource, deliver, write_results
from core.pacs.retrieve import Progress, Retrieved, retrieve_study
from core.settings import Settings
from core.store import Store, UserId


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_pixels: int


class PacsWorkflow:
    """Query, retrieve and export for one workstation. Thread-compatible: each call is
    independent, except that two retrieves by C-MOVE share the receive port and so run one
    after the other."""

    def __init__(self, *, config: PacsConfig | None, store: Store, inbox: StudyInbox,
                 results_root: Path, limits: Limits, auto_send: bool = False) -> None:
        self.config = config
        self.inbox = inbox
        self.results_root = results_root
        self.auto_send = auto_send
        self._store = store
        self._limits = limits
        self._receiving = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> PacsWorkflow:
        """The inbox is ``data_dir/pacs/studies``; results go to ``pacs_export_dir``, else
        ``data_dir/pacs/results``."""
        root = settings.data_dir / "pacs"
        return cls(config=PacsConfig.from_settings(settings), store=store,
                   inbox=StudyInbox(root / "studies"),
                   results_root=settings.pacs_export_dir or root / "results",
                   limits=Limits(settings.max_file_bytes, settings.max_pixels),
                   auto_send=settings.pacs_auto_send)

    @property
    def configured(self) -> bool:
        return self.config is not None

    def require_config(self) -> PacsConfig:
        if self.config is None:
            raise PacsError("No PACS is configured: IT sets pacs_host, pacs_port, "
                            "pacs_called_ae and pacs_calling_ae (docs/pacs.md).",
                            kind=PacsErrorKind.NOT_CONFIGURED, transient=False)
        return self.config

    def echo(self) -> None:
        pacs_query.echo(self.require_config())

    def find(self, query: StudyQuery, *, cancel: threading.Event | None = None
             ) -> list[StudySummary]:
        return pacs_query.find_studies(self.require_config(), query, cancel=cancel)

    def retrieve(self, study_uid: str, *, cancel: threading.Event | None = None,
                 progress: Progress | None = None) -> Retrieved:
        config = self.require_config()
        with self._receiving:
            return retrieve_study(config, study_uid, inbox=self.inbox, cancel=cancel,
                                  progress=progress)

    def is_retrieved(self, study_uid: str) -> bool:
        """Whether the inbox holds images of this study (a study cut short counts too: its
        next retrieve fetches only what is missing). An exam that is no DICOM study (plain
        images, grouped by name or folder) never is."""
        try:
            check_uid(study_uid)
        except PacsError:
            return False
        return bool(self.inbox.files(study_uid))

    def exam_files(self, exam_id: str) -> list[Path]:
        """The files of an exam: a retrieved study (its Study Instance UID) or a folder.

        Raises PacsError when neither names one.
        """
        try:
            files = self.inbox.files(check_uid(exam_id))
        except PacsError:
            files = []
        if not files and Path(exam_id).is_dir():
            files = [Path(p) for p in iter_image_paths([exam_id])]
        if not files:
            raise PacsError(f"No retrieved study or folder is called {exam_id}: give a Study "
                            "Instance UID retrieved with `mammo pacs retrieve`, or a folder.",
                            kind=PacsErrorKind.REFUSED, transient=False)
        return files

    def export(self, files: Sequence[Path], *, user_id: UserId, heatmaps: HeatmapSource,
               automatic: bool = False, cancel: threading.Event | None = None
               ) -> DeliveryReport:
        """Write the exam's results and send them (or, without a PACS, keep them in the
        results folder). ``automatic`` marks a send nobody asked for (after reading, or after
        signing): it goes before the signature only when IT enabled automatic sending.

        Raises
        ------
        PacsError
            The exam is not signed (and automatic sending is off), or its results cannot be
            made (no reading). Failures to send are in the report, not raised.
        """
        outcome = collect_outcome(files, store=self._store, user_id=user_id,
                                  max_file_bytes=self._limits.max_file_bytes,
                                  max_pixels=self._limits.max_pixels)
        signed = outcome.signed
        if not signed and not (automatic and self.auto_send):
            raise PacsError("Results leave the workstation only after the reader has signed "
                            "an assessment of each breast of the exam.",
                            kind=PacsErrorKind.NOT_SIGNED, transient=False)
        folder, objects = write_results(outcome, root=self.results_root, heatmaps=heatmaps,
                                        max_file_bytes=self._limits.max_file_bytes,
                                        max_pixels=self._limits.max_pixels, signed=signed)
        return deliver(outcome, folder, objects, config=self.config, store=self._store,
                       user_id=user_id, signed=signed, cancel=cancel)
