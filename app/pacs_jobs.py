"""The PACS work the PACS tab and the settings dialog hand to workers: plain functions over
:class:`core.pacs.workflow.PacsWorkflow` (no Qt, no widgets), on the io pool."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from app.worker import Job, Report
from core.errors import MammoError, PacsError, PacsErrorKind
from core.pacs import PacsConfig, StudyQuery, StudySummary, echo
from core.pacs.results import DeliveryReport, HeatmapSource
from core.pacs.workflow import PacsWorkflow
from core.store import UserId


@dataclass(frozen=True)
class Found:
    """A query's studies, each with whether the inbox already holds it."""

    query: StudyQuery
    studies: list[tuple[StudySummary, bool]]


@dataclass(frozen=True)
class StudyProgress:
    study_uid: str
    done: int
    total: int
    index: int  # which of the job's studies (0-based)
    count: int


@dataclass(frozen=True)
class StudyRetrieved:
    study_uid: str
    files: list[str]


@dataclass(frozen=True)
class StudyFailed:
    study_uid: str
    message: str


@dataclass(frozen=True)
class Sent:
    """What became of one exam's results; ``report`` is None when none were made (waiting
    for the signature, or an exam whose results cannot be made)."""

    exam_id: str
    report: DeliveryReport | None
    message: str  # what to show: sent, saved, failed, or waiting for the signature

    @property
    def sent(self) -> bool:
        return self.report is not None and self.report.ok


def find_job(flow: PacsWorkflow, query: StudyQuery) -> Job:
    def job(cancel: threading.Event, _report: Report) -> Found:
        studies = flow.find(query, cancel=cancel)
        return Found(query, [(s, flow.is_retrieved(s.study_uid)) for s in studies])

    return job


def retrieve_job(flow: PacsWorkflow, study_uids: list[str]) -> Job:
    """Retrieve each study in turn; one that fails is reported and the others go on.
    Returns how many arrived whole."""

    def job(cancel: threading.Event, report: Report) -> int:
        whole = 0
        for index, uid in enumerate(study_uids):
            if cancel.is_set():
                break

            def progress(done: int, total: int, uid: str = uid, index: int = index) -> None:
                report(StudyProgress(uid, done, total, index, len(study_uids)))

            try:
                got = flow.retrieve(uid, cancel=cancel, progress=progress)
            except PacsError as exc:
                report(StudyFailed(uid, exc.message))
                continue
            if got.complete:
                whole += 1
                report(StudyRetrieved(uid, [str(p) for p in got.files]))
        return whole

    return job


def new_studies_job(flow: PacsWorkflow, *, today: date | None = None) -> Job:
    """The automatic pull: today's MG studies the inbox does not hold yet, retrieved."""

    def job(cancel: threading.Event, report: Report) -> int:
        day = today or date.today()
        studies = flow.find(StudyQuery(date_from=day, date_to=day), cancel=cancel)
        fresh = [s.study_uid for s in studies if not flow.is_retrieved(s.study_uid)]
        return int(retrieve_job(flow, fresh)(cancel, report))

    return job


def export_job(flow: PacsWorkflow, exam_id: str, *, user_id: UserId, heatmaps: HeatmapSource,
               automatic: bool) -> Job:
    """Write and send one exam's results. Waiting for a signature is an answer, not an
    error: nothing leaves before it."""

    def job(cancel: threading.Event, _report: Report) -> Sent:
        try:
            report = flow.export(flow.exam_files(exam_id), user_id=user_id,
                                 heatmaps=heatmaps, automatic=automatic, cancel=cancel)
        except PacsError as exc:
            if exc.kind is PacsErrorKind.NOT_SIGNED:
                return Sent(exam_id, None, "Results are sent once each breast is signed.")
            return Sent(exam_id, None, exc.message)
        except MammoError as exc:  # the store, an unreadable file: said, not raised
            return Sent(exam_id, None, exc.message)
        return Sent(exam_id, report, describe(report))

    return job


def echo_job(config: PacsConfig) -> Job:
    def job(_cancel: threading.Event, _report: Report) -> str:
        echo(config)
        return f"The PACS ({config.peer}) answered."

    return job


def describe(report: DeliveryReport) -> str:
    """One line for the status: what went where, and what did not."""
    done = len(report.delivered) + len(report.already)
    total = done + len(report.failed)
    place = ("saved in " + str(report.folder) if report.destination == str(report.folder)
             else "sent to " + report.destination)
    line = f"{done} of {total} results {place}"
    if report.failed:
        line += f"; not sent: {report.failed[0][1]}"
    return line + ("" if report.signed else " (before the reader's signature)")


