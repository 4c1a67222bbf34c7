"""``mammo pacs echo|query|retrieve|send``: the hospital's PACS from the command line.

- ``echo``: does the PACS answer (C-ECHO)?
- ``query [--date-from D] [--date-to D] [--patient-id P] [--accession A] [--json]``: its
  studies (MG by default), one row each.
- ``retrieve STUDY_UID...``: each study into the local inbox (``data_dir/pacs/studies``), then
  read by the model into the local store and printed as exams, as ``mammo predict`` does.
  With automatic sending on (``pacs_auto_send``), the results go to the PACS right after.
- ``send EXAM_ID...``: the SR and captures of each exam (a retrieved study's UID, or a folder)
  to the PACS, once the reader signed; without a PACS, to the results folder.

Exit codes: 0 all done, 2 some failed, 1 nothing could run (no PACS configured, settings,
store, an unreachable PACS for echo and query).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli.main import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, acting_user, add_model_options
from core.errors import PacsErrorKind

if TYPE_CHECKING:
    from core.inference.classifier import Classifier
    from core.pacs import StudySummary
    from core.pacs.results import DeliveryReport
    from core.pacs.workflow import PacsWorkflow
    from core.settings import Settings
    from core.store import Store

FATAL = (PacsErrorKind.UNREACHABLE, PacsErrorKind.REJECTED, PacsErrorKind.DESTINATION,
         PacsErrorKind.NOT_CONFIGURED)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pacs", help="query, retrieve from and send results to the PACS")
    actions = p.add_subparsers(dest="pacs_command", required=True, metavar="ACTION")
    echo = actions.add_parser("echo", help="check that the PACS answers (C-ECHO)")
    echo.set_defaults(handler=handle_echo)
    query = actions.add_parser("query", help="list the PACS's studies (MG by default)")
    query.add_argument("--date-from", type=date.fromisoformat, metavar="YYYY-MM-DD")
    query.add_argument("--date-to", type=date.fromisoformat, metavar="YYYY-MM-DD")
    query.add_argument("--patient-id", metavar="ID")
    query.add_argument("--accession", metavar="NUMBER")
    query.add_argument("--modality", default="MG", help="modality in the study (default MG; "
                                                         "'' for any)")
    query.add_argument("--json", action="store_true", help="one JSON object per study")
    query.set_defaults(handler=handle_query)
    retrieve = actions.add_parser("retrieve", help="retrieve studies and read them as exams")
    retrieve.add_argument("studies", nargs="+", metavar="STUDY_UID")
    retrieve.add_argument("--json", action="store_true", help="JSON rows, as mammo predict")
    add_model_options(retrieve)
    retrieve.set_defaults(handler=handle_retrieve)
    send = actions.add_parser("send", help="send an exam's signed results (SR and captures)")
    send.add_argument("exams", nargs="+", metavar="EXAM_ID",
                      help="a retrieved study's Study Instance UID, or a folder of the exam")
    add_model_options(send)
    send.set_defaults(handler=handle_send)


def handle_echo(args: argparse.Namespace) -> int:
    from core.settings import load_settings

    with _workflow(load_settings()) as (_store, flow):
        flow.echo()
        print(f"The PACS ({flow.require_config().peer}) answered.")
    return EXIT_OK


def handle_query(args: argparse.Namespace) -> int:
    from core.pacs import StudyQuery
    from core.settings import load_settings

    with _workflow(load_settings()) as (_store, flow):
        studies = flow.find(StudyQuery(date_from=args.date_from, date_to=args.date_to,
                                       patient_id=args.patient_id, accession=args.accession,
                                       modality=args.modality or None))
        for study in studies:
            row = {**asdict(study), "modalities": list(study.modalities),
                   "retrieved": flow.is_retrieved(study.study_uid)}
            print(json.dumps(row) if args.json else _study_line(study, row["retrieved"]),
                  flush=True)
    if not args.json:
        print(f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'} found.",
              file=sys.stderr)
    return EXIT_OK


def handle_retrieve(args: argparse.Namespace) -> int:
    from core.cli.exam_rows import exam_line, exam_results, exam_row
    from core.cli.main import load_model
    from core.errors import PacsError
    from core.exams import ImageFile
    from core.pacs.results import model_heatmaps
    from core.reading import ReadingService

    settings, classifier = load_model(args)
    failed = fatal = 0
    with _workflow(settings) as (store, flow):
        flow.require_config()
        user = acting_user(settings, store)
        service = ReadingService(store=store, classifier=classifier,
                                 max_file_bytes=settings.max_file_bytes,
                                 max_pixels=settings.max_pixels)
        for study_uid in args.studies:
            try:
                got = flow.retrieve(study_uid, progress=_progress(study_uid))
            except PacsError as exc:
                failed += 1
                fatal += exc.kind in FATAL
                print(f"mammo: {study_uid}: {exc.message}", file=sys.stderr)
                continue
            files: list[ImageFile] = []
            scores: dict[str, float | None] = {}
            for outcome in service.read(list(got.files), user_id=user.id, reuse_earlier=True):
                files.append(ImageFile(path=outcome.path,
                                       meta=outcome.image.meta if outcome.image else None))
                scores[str(outcome.path)] = (None if outcome.reading is None
                                             else outcome.reading.score)
                if outcome.error is not None:
                    print(f"mammo: {outcome.path}: {outcome.error.message}", file=sys.stderr)
            for result in exam_results(files, scores, threshold=classifier.info.threshold):
                print(json.dumps(exam_row(result)) if args.json else exam_line(result),
                      flush=True)
            if any(score is None for score in scores.values()):
                failed += 1
            elif flow.auto_send:
                report = flow.export(list(got.files), user_id=user.id,
                                     heatmaps=model_heatmaps(classifier), automatic=True)
                failed += not report.ok
                _print_delivery(report)
    print(f"{len(args.studies) - failed} of {len(args.studies)} studies retrieved and read, "
          f"kept as {user.username}. Research use only, not for diagnosis.", file=sys.stderr)
    return _exit(failed=failed, fatal=fatal, total=len(args.studies))


def handle_send(args: argparse.Namespace) -> int:
    from core.errors import MammoError
    from core.pacs.results import model_heatmaps
    from core.settings import load_settings

    settings = load_settings()
    classifier = _model_or_none(args, settings)
    failed = fatal = 0
    with _workflow(settings) as (store, flow):
        user = acting_user(settings, store)
        for exam_id in args.exams:
            try:
                report = flow.export(flow.exam_files(exam_id), user_id=user.id,
                                     heatmaps=model_heatmaps(classifier))
            except MammoError as exc:
                failed += 1
                print(f"mammo: {exam_id}: {exc.message}", file=sys.stderr)
                continue
            failed += not report.ok
            fatal += bool(report.failed) and not report.delivered and not report.already \
                and report.failure_kinds <= set(FATAL)
            _print_delivery(report)
    return _exit(failed=failed, fatal=fatal, total=len(args.exams))


@contextmanager
def _workflow(settings: Settings) -> Iterator[tuple[Store, PacsWorkflow]]:
    from core.pacs.workflow import PacsWorkflow
    from core.store import Store

    with Store.open(settings.store_path) as store:
        yield store, PacsWorkflow.from_settings(settings, store)


def _study_line(study: StudySummary, retrieved: bool) -> str:
    images = "?" if study.image_count is None else str(study.image_count)
    fields = [study.study_uid, study.study_date or "-", study.patient_id or "-",
              study.patient_name or "-", study.accession or "-",
              "/".join(study.modalities) or "-", f"{images} images",
              "retrieved" if retrieved else ""]
    return "\t".join(fields).rstrip()


def _model_or_none(args: argparse.Namespace, settings: Settings) -> Classifier | None:
    """The model, for the captures' heatmaps; without it they show the peak only."""
    from core.errors import ModelLoadError
    from core.inference.classifier import Classifier

    folder = args.model if args.model is not None else settings.resolved_model_dir
    try:
        return Classifier.load(Path(folder), engine=args.engine or settings.engine,
                               device=settings.device, batch_size=settings.batch_size)
    except ModelLoadError as exc:
        print(f"mammo: the captures show the heatmap's peak only: {exc.message}",
              file=sys.stderr)
        return None


def _progress(study_uid: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{study_uid}: {done}/{total} images", end="", file=sys.stderr, flush=True)
            if done == total:
                print(file=sys.stderr)

    return report


def _print_delivery(report: DeliveryReport) -> None:
    sent = len(report.delivered) + len(report.already)
    verb = "saved in" if report.destination == str(report.folder) else "sent to"
    print(f"exam {report.exam_id}\t{sent} of {sent + len(report.failed)} results {verb} "
          f"{report.destination}" + ("" if report.signed else " (not signed yet)"), flush=True)
    for obj, why in report.failed:
        print(f"mammo: {obj.path.name}: {why}", file=sys.stderr)


def _exit(*, failed: int, fatal: int, total: int) -> int:
    """0 all done; 1 when every item failed because the PACS could not be used at all
    (unreachable, refusing this workstation); else 2."""
    if failed == 0:
        return EXIT_OK
    return EXIT_FAILED if fatal == total else EXIT_PARTIAL
