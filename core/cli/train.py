"""``mammo train --out models/<id> [--data DIR ...] [--epochs N] [--seed S] [--resume]``.

The default recipe is ``two-stage`` (:mod:`core.training.two_stage`: gates, a lesion model on
the located film lesions, then the cancer model over it). ``--recipe mil`` is the first
recipe (image labels only, multiple-instance learning over a grid of patches), kept to
reproduce the earlier runs; it preprocesses the data sets into a pack, trains the
cross-validation runs and the final model (resumable from checkpoints), chooses pooling,
calibration and threshold on the out-of-fold predictions, exports the model folder,
evaluates it on the held-out test patients and writes the model card. ``--from-work``
finishes a run trained elsewhere (e.g. on a GPU machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from core.cli.main import EXIT_OK
from core.settings import project_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train, calibrate, evaluate and export a model")
    p.add_argument("--out", type=Path, required=True, help="model folder to write")
    p.add_argument("--data", type=Path, action="append", default=None,
                   help="data set folder (repeatable; default: ../shared/data's two sets)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="go on from the last checkpoint")
    p.add_argument("--work", type=Path, default=None,
                   help="working folder (pack, checkpoints; default: <out>.work)")
    p.add_argument("--cv-folds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--ship", choices=["final", "ensemble"], default="final",
                   help="final: one more run on all development patients ships; ensemble: "
                        "the cross-validation models ship, averaged (no final run)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds for all runs; fewer epochs are run to fit")
    p.add_argument("--limit", type=int, default=None,
                   help="use at most this many images per data set (smoke runs)")
    p.add_argument("--from-work", action="store_true",
                   help="skip training: finish from results already in --work")
    p.add_argument("--hardware", default=None, help="what trained it, for the model card")
    p.add_argument("--recipe", choices=["two-stage", "mil"], default="two-stage",
                   help="two-stage (default): lesions first, then cancer; mil: the first "
                        "recipe, image labels only")
    p.add_argument("--cell-epochs", type=int, default=0,
                   help="two-stage: stage 1c, epochs of fine-tuning stage 1 with a loss per "
                        "cell (0: none, the default; docs/model.md says what it gave)")
    p.add_argument("--cell-holdout-fold", type=int, default=0,
                   help="two-stage: the development fold stage 1c leaves out (-1: none)")
    p.add_argument("--block5-epochs", type=int, default=0,
                   help="two-stage: fine-tune the network's last dense block with the stage-2 "
                        "head for this many epochs (0: head over frozen features, the default)")
    p.add_argument("--peak-weight", type=float, default=0.0,
                   help="two-stage: weight of the stage-2 peak loss (0: off)")
    p.add_argument("--hard-rounds", type=int, default=1,
                   help="two-stage: rounds of stage-1b hard-negative mining and fine-tuning")
    p.add_argument("--gate-scale", type=float, default=1.0,
                   help="two-stage: fraction of the gates' steps (smoke runs only)")
    p.set_defaults(handler=handle)


def _two_stage(args: argparse.Namespace) -> int:
    from core.training.two_stage import main as two_stage_main

    work = args.work or args.out.with_name(args.out.name + ".work")
    argv = ["all", "--work", str(work), "--out", str(args.out), "--seed", str(args.seed),
            "--stage1-epochs", str(args.epochs), "--gate-scale", str(args.gate_scale),
            "--hard-epochs", str(min(args.epochs, 5)), "--cell-epochs", str(args.cell_epochs),
            "--cell-holdout-fold", str(args.cell_holdout_fold),
            "--block5-epochs", str(args.block5_epochs), "--peak-weight", str(args.peak_weight),
            "--hard-rounds", str(args.hard_rounds)]
    for d in args.data or []:
        argv += ["--data", str(d)]
    if args.time_budget:
        argv += ["--stage1-budget", str(args.time_budget)]
    if args.hardware:
        argv += ["--hardware", args.hardware]
    if args.limit:
        argv += ["--limit", str(args.limit)]
    return two_stage_main(argv)


def _default_data() -> list[Path]:
    shared = project_root().parent / "shared" / "data"
    return [shared / "rsna-screening-640", shared / "mini-mias"]


def handle(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.recipe == "two-stage":
        return _two_stage(args)
    from core.evaluation import reliability_plot
    from core.inference.classifier import Classifier
    from core.training.card import write_card
    from core.training.finalize import evaluate_held_out, finalize, incremental_value
    from core.training.pack import build_pack

    out: Path = args.out
    work: Path = args.work or out.with_name(out.name + ".work")
    data = args.data or _default_data()
    index = work / "pack" / "index.json"
    if not index.is_file():
        print(f"preprocessing {', '.join(map(str, data))} into {index.parent}", flush=True)
        build_pack(data, index.parent, seed=args.seed, folds=max(args.cv_folds, 2),
                   limit=args.limit)
    if not args.from_work:
        from core.training.train import train

        train(index, work, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
              time_budget=args.time_budget, cv_folds=args.cv_folds, resume=args.resume,
              learning_rate=args.learning_rate, ship=args.ship, log=lambda m: print(m, flush=True))
    hardware = args.hardware or f"{os.cpu_count()}-core {platform.machine()} CPU"
    manifest_path, chosen = finalize(work, index, out, model_id=out.name, hardware=hardware)
    manifest = json.loads(manifest_path.read_text())
    classifier = Classifier.load(out, engine="onnx")
    pack = json.loads(index.read_text())
    test_keys = {r["key"] for r in pack["samples"] if r["fold"] < 0}
    tests, held_out_scores, plots = evaluate_held_out(classifier, data, test_keys, out)
    cv_all = manifest["metrics"]["cross_validation"]["all"]
    plots["reliability, cross-validation"] = reliability_plot(
        cv_all, out / "reliability_cv.png", title="out-of-fold, all").name
    manifest["metrics"]["held_out_test"] = tests
    manifest["metrics"]["beyond_trivial_statistics"] = incremental_value(
        pack, index.parent, chosen, held_out_scores)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    write_card(manifest, out / "MODEL_CARD.md", plots=plots)
    print(f"model written to {out}; card {out / 'MODEL_CARD.md'}", flush=True)
    return EXIT_OK
