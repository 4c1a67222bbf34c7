"""Retrieve-and-score time per exam from a real PACS, against the bare scoring time, in the
same run.

    .venv/bin/python bench/bench_pacs.py [--model DIR] [--exams N] [--size PX]
                                         [--method move|get] [--keep DIR]

Starts Orthanc on loopback (tests/orthanc.py; the Debian package ``orthanc``) holding N 4-view
MG exams made from the test fixtures' mammograms (``--size`` scales them: 640 as they are,
about 2,000 to 3,000 for a full-field digital mammogram), then, with one model and one store:

1. bare scoring: each exam's four files, already on this disk, read by the reading pipeline
   (open, check, preprocess, model, store), as ``mammo predict`` does;
2. retrieve and score: each exam fetched from the PACS (C-FIND of its images, C-MOVE or C-GET
   into the inbox) and then read the same way, as the PACS tab does.

Prints one row per exam and the medians: retrieve-and-score, bare scoring, and the PACS's
share. A warm-up exam is scored first so that neither side pays the engine's start. Without
``--model`` it uses the installed model, else builds the tiny untrained test model
(tests/model_factory.py; needs the ``train`` extras): its scores mean nothing, the timing of
the pipeline around it is the point.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.errors import ModelLoadError  # noqa: E402
from core.inference.classifier import Classifier  # noqa: E402
from core.pacs import PacsConfig, StudyInbox  # noqa: E402
from core.pacs.workflow import Limits, PacsWorkflow  # noqa: E402
from core.reading import ReadingService  # noqa: E402
from core.settings import bundled_model_dir  # noqa: E402
from core.store import Store  # noqa: E402
from tests.mg_factory import MgExam, dicom_bytes, make_exam, rsna_images, write_exam  # noqa: E402
from tests.orthanc import OrthancServer, free_port  # noqa: E402

LIMITS = {"max_file_bytes": 2 * 1024**3, "max_pixels": 200_000_000}


def load_model(folder: Path | None, work: Path) -> Classifier:
    if folder is not None:
        return Classifier.load(folder)
    try:
        return Classifier.load(bundled_model_dir())
    except ModelLoadError:
        from tests.model_factory import make_tiny_model_dir

        print("no installed model: using the tiny untrained test model", file=sys.stderr)
        return Classifier.load(make_tiny_model_dir(work / "tiny-model"))


def make_exams(count: int, size: int | None) -> list[MgExam]:
    images = rsna_images()
    exams = []
    for n in range(count):
        four = list(itertools.islice(itertools.cycle(images), 4 * n, 4 * n + 4))
        exams.append(make_exam(four, patient_id=f"BENCH-{n:03d}", patient_name=f"Bench^{n}",
                               accession=f"BENCH{n:04d}",
                               study_date=date(2026, 11, 1) + timedelta(days=n), size=size))
    return exams


def score(service: ReadingService, files: list[Path], user_id: int) -> float:
    started = time.perf_counter()
    outcomes = list(service.read(files, user_id=user_id))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"scoring failed: {failed[0].error}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--exams", type=int, default=4)
    parser.add_argument("--size", type=int, default=None,
                        help="side of the images in pixels (default: the fixtures' 640)")
    parser.add_argument("--method", choices=("move", "get"), default="move")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-pacs-"))
    work.mkdir(parents=True, exist_ok=True)
    classifier = load_model(args.model, work)
    info = classifier.info
    exams = make_exams(args.exams + 1, args.size)  # the first one warms up
    receive_port = free_port()
    orthanc = OrthancServer(folder=work / "orthanc",
                            modalities={"workstation": ("MAMMOWS", "127.0.0.1", receive_port)})
    orthanc.start()
    try:
        for exam in exams:
            for ds in exam.datasets:
                orthanc.upload(dicom_bytes(ds))
        config = PacsConfig(host="127.0.0.1", port=orthanc.dicom_port, called_ae=orthanc.aet,
                            calling_ae="MAMMOWS", receive_port=receive_port,
                            retrieve=args.method)
        with Store.open(work / "store" / "mammo.sqlite3") as store:
            user_id = store.ensure_user("bench")
            service = ReadingService(store=store, classifier=classifier, **LIMITS)
            flow = PacsWorkflow(config=config, store=store,
                                inbox=StudyInbox(work / "inbox"),
                                results_root=work / "results", limits=Limits(**LIMITS))
            warm, timed = exams[0], exams[1:]
            score(service, write_exam(warm, work / "local" / warm.study_uid), user_id)
            bare = [score(service, write_exam(e, work / "local" / e.study_uid), user_id)
                    for e in timed]
            fetched = []
            for exam in timed:
                started = time.perf_counter()
                got = flow.retrieve(exam.study_uid)
                retrieved = time.perf_counter() - started
                fetched.append((retrieved, retrieved + score(service, list(got.files),
                                                               user_id)))
    finally:
        orthanc.kill()
    side = args.size or 640
    size_mb = sum(len(dicom_bytes(ds)) for ds in timed[0].datasets) / 1e6
    print(f"PACS bench: {len(timed)} exams of 4 MG views ({side} px, {size_mb:.1f} MB per "
          f"exam), C-{args.method.upper()} from Orthanc on loopback; model {info.model_id} "
          f"({info.engine} on {info.device})")
    print("exam\tbare score s\tretrieve s\tretrieve+score s")
    for n, (plain, (retrieved, total)) in enumerate(zip(bare, fetched, strict=True), 1):
        print(f"{n}\t{plain:.2f}\t{retrieved:.2f}\t{total:.2f}")
    plain_median = statistics.median(bare)
    total_median = statistics.median(t for _, t in fetched)
    retrieve_median = statistics.median(r for r, _ in fetched)
    print(f"median per exam: retrieve and score {total_median:.2f} s, bare scoring "
          f"{plain_median:.2f} s; the PACS adds {retrieve_median:.2f} s "
          f"({100 * retrieve_median / total_median:.0f} % of retrieve-and-score)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
