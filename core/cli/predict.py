"""``mammo predict PATH... [--json] [--model DIR] [--engine auto|onnx|tf] [--no-store]``.

One row per image, in input order; then one row per exam found among the inputs (rows with an
``exam`` key and no ``path``; see :mod:`core.cli.exam_rows`).
"""

from __future__ import annotations

import argparse
import json
import sys

from core.cli.exam_rows import exam_line, exam_results, exam_row
from core.cli.main import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    acting_user,
    add_model_options,
    load_model,
)
from core.exams import ImageFile
from core.reading import ReadOutcome


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="score image files or folders (recursively)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per line per image")
    add_model_options(p)
    p.add_argument("--no-store", action="store_true", help="do not keep the readings")
    p.set_defaults(handler=handle)


def _row(outcome: ReadOutcome, model_id: str, engine: str, device: str) -> dict[str, object]:
    if outcome.error is not None or outcome.prediction is None:
        reason = outcome.error.message if outcome.error else "no result"
        if outcome.error is not None and hasattr(outcome.error, "reason"):
            reason = outcome.error.reason  # ImageDecodeError: the path is its own field
        return {"path": str(outcome.path), "error": reason}
    pred = outcome.prediction
    return {"path": str(outcome.path), "score": round(pred.score, 6), "label": pred.label,
            "threshold": pred.threshold, "model_id": model_id, "engine": engine,
            "device": device, "heatmap_peak": [pred.heatmap_peak[0], pred.heatmap_peak[1]],
            "reading_id": outcome.reading.id if outcome.reading else None}


def handle(args: argparse.Namespace) -> int:
    from core.reading import ReadingService
    from core.store import Store

    settings, classifier = load_model(args)
    store = None if args.no_store else Store.open(settings.store_path)
    try:
        user = None if store is None else acting_user(settings, store)
        user_id = None if user is None else user.id
        service = ReadingService(store=store, classifier=classifier,
                                 max_file_bytes=settings.max_file_bytes,
                                 max_pixels=settings.max_pixels)
        info = classifier.info
        total = failed = 0
        # Only what the exam rows need; keeping each outcome would keep every image's pixels.
        files: list[ImageFile] = []
        scores: dict[str, float | None] = {}
        for outcome in service.read(args.paths, user_id=user_id):
            total += 1
            row = _row(outcome, info.model_id, info.engine, info.device)
            failed += "error" in row
            files.append(ImageFile(path=outcome.path,
                                   meta=outcome.image.meta if outcome.image else None))
            scores[str(outcome.path)] = (None if "error" in row or outcome.prediction is None
                                         else outcome.prediction.score)
            if args.json:
                print(json.dumps(row), flush=True)
            elif "error" in row:
                print(f"{row['path']}\tERROR\t{row['error']}", flush=True)
            else:
                print(f"{row['path']}\t{row['label']}\tscore {row['score']:.3f} (threshold "
                      f"{row['threshold']:.3f})\tpeak {row['heatmap_peak']}", flush=True)
    finally:
        if store is not None:
            store.close()
    if total == 0:
        print("mammo: no image files found in the given paths.", file=sys.stderr)
        return EXIT_FAILED
    for result in exam_results(files, scores, threshold=info.threshold):
        print(json.dumps(exam_row(result)) if args.json else exam_line(result), flush=True)
    if not args.json:
        kept = "" if user is None else f", kept as {user.username}"
        print(f"{total - failed} read, {failed} failed{kept}; model {info.model_id} "
              f"({info.engine} on {info.device}). Research use only, not for diagnosis.",
              file=sys.stderr)
    return EXIT_PARTIAL if failed else EXIT_OK
