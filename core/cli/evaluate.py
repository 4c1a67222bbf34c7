"""``mammo evaluate --model DIR --data DIR [--json] [--plot PNG]``: figures with intervals on
the folder's patients that the model was not trained on."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.main import EXIT_FAILED, EXIT_OK, add_model_options, load_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="AUC, sensitivity, calibration on a labelled folder")
    add_model_options(p)
    p.add_argument("--data", type=Path, required=True,
                   help="folder laid out like rsna-screening-640 or mini-mias")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plot", type=Path, default=None, help="write a reliability plot (PNG)")
    p.set_defaults(handler=handle)


def _fmt(v: float | None, ci: list[float] | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci else f"{v:.3f}"


def handle(args: argparse.Namespace) -> int:
    from core.evaluation import evaluate_folder, reliability_plot

    settings, classifier = load_model(args)
    report, _ = evaluate_folder(classifier, args.data, max_file_bytes=settings.max_file_bytes,
                                max_pixels=settings.max_pixels,
                                progress=None if args.json else lambda i, n: print(
                                    f"\r{i}/{n}", end="", file=sys.stderr, flush=True))
    if args.plot:
        reliability_plot(report, args.plot, title=f"{classifier.info.model_id} on {args.data}")
    if "auc" not in report:
        print("mammo: no unseen, readable images with labels in that folder.", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report))
        return EXIT_OK
    print(file=sys.stderr)
    t = report["at_threshold"]
    print(f"model {report['model_id']} on {report['data']}: {report['images']} images of "
          f"{report['patients']} unseen patients ({report['positives']} positive); "
          f"{report['left_out_trained_patients']} images of training patients left out")
    print(f"AUC {_fmt(report['auc'], report['auc_ci'])}")
    for s in (80, 90):
        k = f"sensitivity_at_{s}_specificity"
        print(f"sensitivity at {s}% specificity {_fmt(report[k], report[k + '_ci'])}")
    sens = _fmt(t["sensitivity"], t["sensitivity_ci"])
    spec = _fmt(t["specificity"], t["specificity_ci"])
    print(f"at threshold {t['threshold']:.4f}: sensitivity {sens}, specificity {spec}")
    print(f"expected calibration error {_fmt(report['ece'], report['ece_ci'])}")
    loc = report["localisation"]["any_finding"]
    if loc["images"]:
        print(f"heatmap peak inside a finding: {loc['peak_inside']} of {loc['images']} "
              f"({_fmt(loc['share'], loc['share_ci'])})")
    return EXIT_OK
