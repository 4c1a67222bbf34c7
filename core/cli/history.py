"""``mammo history [--json] [--limit N]``: the stored readings, newest first."""

from __future__ import annotations

import argparse
import json

from core.cli.main import EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="list stored readings, newest first")
    p.add_argument("--json", action="store_true", help="one JSON object per line per reading")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from core.settings import load_settings
    from core.store import Store

    settings = load_settings()
    with Store.open(settings.store_path) as store:
        readings = store.list_readings(limit=args.limit)
    for r in readings:
        row = {"reading_id": r.id, "created_at": r.created_at.isoformat(),
               "path": r.source_path, "pixel_sha256": r.pixel_sha256, "score": r.score,
               "label": r.label, "threshold": r.threshold, "model_id": r.model_id,
               "model_sha256": r.model_sha256, "engine": r.engine, "device": r.device,
               "heatmap_peak": [r.heatmap_peak_x, r.heatmap_peak_y], "user": r.username,
               "sync_state": r.sync_state,
               "reader": None if r.feedback is None else {
                   "agrees_with_model": r.feedback.agrees_with_model,
                   "birads": r.feedback.birads, "note": r.feedback.note,
                   "signed_at": r.feedback.signed_at.isoformat()}}
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['created_at']}\t{r.label}\t{r.score:.3f}\t{r.model_id}\t{r.source_path}")
    return EXIT_OK
