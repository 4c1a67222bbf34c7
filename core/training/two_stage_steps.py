"""The steps of :mod:`core.training.two_stage`; each skips itself when its output exists."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_DATA = ("rsna-screening-640", "mini-mias", "ddsm-lesions-640")


def _data(a: argparse.Namespace) -> list[Path]:
    if a.data:
        return list(a.data)
    from core.settings import project_root

    shared = project_root().parent / "shared" / "data"
    return [shared / d for d in DEFAULT_DATA]


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=10, check=False)
        return out.stdout.strip() or None
    except OSError:
        return None


def run_step(step: str, a: argparse.Namespace, *, hardware: str) -> None:
    work: Path = a.work
    work.mkdir(parents=True, exist_ok=True)
    pack = work / "pack"
    if step == "pack":
        if not (pack / "index.json").is_file():
            from core.training.pack import build_pack

            build_pack(_data(a), pack, seed=a.seed, folds=4, limit=a.limit)
    elif step == "gates":
        if not (work / "gates.json").is_file():
            from core.training.gates import run_gates

            run_gates(pack, work / "gates.json", seed=a.seed, scale=a.gate_scale)
    elif step == "stage1":
        from core.training.stage1 import train

        log = work / "stage1_log.json"
        if not (log.is_file() and "heldout_patch_auc" in json.loads(log.read_text())):
            train(pack, work, time_budget=a.stage1_budget, epochs=a.stage1_epochs,
                  batch_size=32, learning_rate=1e-3, seed=a.seed)
    elif step == "features" and a.layout == "windows":
        from core.training.window_features import extract_window_features

        feats = work / "wfeats.npy"
        done = feats.with_suffix(".done")
        n = len(json.loads((pack / "index.json").read_text())["samples"])
        block5 = a.block5_epochs > 0
        if not (done.is_file() and int(done.read_text()) >= n
                and (feats.with_suffix(".p4.npy").is_file() or not block5)):
            extract_window_features(pack, work / "stage1.weights.h5", feats,
                                    block5_inputs=block5)
    elif step == "hard":
        _hard(work, pack, a)
    elif step == "cells":
        _cells(work, pack, a)
    elif step == "stage2" and a.layout == "windows" and a.block5_epochs > 0:
        from core.training.stage2_block5 import cross_validate_block5

        if not (work / "stage2_results.json").is_file():
            cross_validate_block5(pack, work, seed=a.seed,
                                  recipe={"epochs": a.block5_epochs,
                                          "peak_weight": a.peak_weight},
                                  groups=json.loads(a.block5_groups))
    elif step == "stage2" and a.layout == "windows":
        from core.training.stage2_windows import cross_validate as cross_validate_windows

        if not (work / "stage2_results.json").is_file():
            cross_validate_windows(pack, work / "wfeats.npy", work, seed=a.seed,
                                   recipe={"epochs": a.stage2_epochs,
                                           "lesion_hidden": a.lesion_branch,
                                           "members": a.members,
                                           "peak_weight": a.peak_weight})
    elif step == "features":
        from core.training.stage2 import extract_features

        feats = work / "features.npy"
        done = feats.with_suffix(".done")
        n = len(json.loads((pack / "index.json").read_text())["samples"])
        if not (done.is_file() and int(done.read_text()) >= n):
            extract_features(pack, work / "stage1.weights.h5", feats)
    elif step == "stage2":
        from core.training.stage2 import cross_validate

        if not (work / "stage2_results.json").is_file():
            cross_validate(pack, work / "features.npy", work, epochs=a.stage2_epochs,
                           seed=a.seed)
    elif step == "finish":
        if a.out is None:
            raise SystemExit("finish needs --out models/<id>")
        finish(work, a.out, data=_data(a), hardware=hardware, layout=a.layout)


def _hard(work: Path, pack: Path, a: argparse.Namespace) -> None:
    """Stage 1b: fine-tune stage 1 on its hard negatives, mined from the window features of
    stage 1 (:mod:`core.training.stage1_hard`)."""
    if a.hard_epochs <= 0:
        return
    from core.training.stage1_hard import finetune

    _fine_tune_stage1(work, "hard_negative_finetune", "base", "hard", lambda start: finetune(
        pack, work / "hard", start, work / "wfeats.npy", epochs=a.hard_epochs,
        rounds=a.hard_rounds, seed=a.seed))


def _cells(work: Path, pack: Path, a: argparse.Namespace) -> None:
    """Stage 1c: fine-tune stage 1 (1b) with a loss per cell of its 4x4 map
    (:mod:`core.training.stage1_cells`)."""
    if a.cell_epochs <= 0:
        return
    from core.training.stage1_cells import finetune_cells

    holdout = None if a.cell_holdout_fold < 0 else a.cell_holdout_fold
    _fine_tune_stage1(work, "cell_finetune", "before_cells", "cells", lambda start: finetune_cells(
        pack, work / "cells", start, work / "hard" / "hard_negatives.json",
        epochs=a.cell_epochs, seed=a.seed, exclude_fold=holdout))


def _fine_tune_stage1(work: Path, done_key: str, keep: str, tune: str,
                      train: Callable[[Path], Any]) -> None:
    """Run one stage-1 fine-tune unless the log says it is done: the weights before it are
    kept in ``work/keep``, ``train`` starts from them and writes into ``work/tune``, whose
    weights and log then become the work folder's, and the window features are dropped so
    that the next ``features`` step reads them with the new network."""
    import shutil

    log = work / "stage1_log.json"
    if log.is_file() and done_key in json.loads(log.read_text()):
        return
    before = work / keep
    before.mkdir(exist_ok=True)
    if not (before / "stage1.weights.h5").is_file():
        shutil.copy2(work / "stage1.weights.h5", before / "stage1.weights.h5")
        shutil.copy2(log, before / "stage1_log.json")
    train(before / "stage1.weights.h5")
    shutil.copy2(work / tune / "stage1.weights.h5", work / "stage1.weights.h5")
    shutil.copy2(work / tune / "stage1_log.json", log)
    for f in work.glob("wfeats*"):
        f.unlink()


def finish(work: Path, out: Path, *, data: list[Path], hardware: str,
           layout: str = "windows") -> dict[str, Any]:
    """Export, evaluate once on the held-out patients, write manifest and card."""
    import keras

    from core.evaluation import reliability_plot
    from core.inference.classifier import Classifier
    from core.training.card_two_stage import write_card
    from core.training.export import export_model_folder
    from core.training.finalize import (
        cv_report,
        evaluate_held_out,
        incremental_value,
        shortcut_baselines,
    )
    from core.training.two_stage import (
        build_shipped_model,
        build_shipped_windows_model,
        choose,
        ddsm_oof_localisation,
        manifest_base,
        ship_decision,
    )

    pack = work / "pack"
    index = json.loads((pack / "index.json").read_text())
    results = json.loads((work / "stage2_results.json").read_text())
    stage1 = json.loads((work / "stage1_log.json").read_text())
    gates = json.loads((work / "gates.json").read_text()) if (work / "gates.json").is_file() \
        else None
    chosen = choose(results, index)
    cv = cv_report(chosen, int(index["canvas"]))
    cv["ddsm_localisation_oof"] = ddsm_oof_localisation(results, index)
    unseen = (stage1.get("cell_finetune") or {}).get("excluded_fold")
    if unseen is not None:
        cv["ddsm_localisation_oof_unseen_by_stage1c"] = {
            "fold": unseen, **ddsm_oof_localisation(results, index, fold=unseen)}
    dev_patients = sorted({r["patient_id"] for r in index["samples"] if r["fold"] >= 0})
    training = {
        "recipe": "two-stage", "stage1": {k: v for k, v in stage1.items() if k != "epochs"},
        "stage1_epochs": stage1["epochs"],
        "stage2": {k: v for k, v in results.items() if k != "predictions"},
        "epochs": len(stage1["epochs"]), "cv_folds": results["cv_folds"], "seed": results["seed"],
        "batch_size": stage1["batch_size"], "learning_rate": stage1["learning_rate"],
        "precision": f"{_stage1_precision(stage1)} (stage 1), float32 (features, stage 2)",
        "backend": "tensorflow", "hardware": hardware, "patients": dev_patients,
        "code_commit": _commit(), "python": platform.python_version(),
        "seconds": round(sum(e["seconds"] for e in stage1["epochs"])
                         + sum(e["seconds"] for e in stage1.get("hard_epochs", []))
                         + sum(e["seconds"] for e in stage1.get("cell_epochs", []))
                         + results["seconds"])}
    if layout == "windows":
        from core.training.window_features import stage1_report_windows

        training["stage1_report"] = stage1_report_windows(pack, work, work / "wfeats.npy")
        training["precision"] = (f"{_stage1_precision(stage1)} (stage 1), float32 (window "
                                 "features, stage 2)")
    else:
        from core.training.stage2 import stage1_report

        training["stage1_report"] = stage1_report(pack, work, work / "features.npy")
    manifest = manifest_base(model_id=out.name, chosen=chosen, index=index, cv=cv,
                             training=training, layout=layout)
    manifest["metrics"]["shortcut_baselines_held_out"] = shortcut_baselines(index, pack)
    manifest["metrics"]["gates"] = gates
    keras.mixed_precision.set_dtype_policy("float32")
    if layout == "windows":
        network = work / "stage1.weights.h5"
        if (work / "stage2_block5.weights.h5").is_file():
            from core.training.stage2_block5 import merge_block5

            network = merge_block5(network, work / "stage2_block5.weights.h5",
                                   work / "stage2_network.weights.h5")
        model = build_shipped_windows_model(network, work / "stage2_head.npz",
                                            work / "stage2_pca.npz")
    else:
        model = build_shipped_model(work / "stage1.weights.h5",
                                    work / "stage2_head.weights.h5", canvas=int(index["canvas"]))
    manifest_path = export_model_folder(model, out, manifest)
    manifest = json.loads(manifest_path.read_text())
    classifier = Classifier.load(out, engine="onnx")
    test_keys = {r["key"] for r in index["samples"] if r["fold"] < 0}
    tests, held_out_scores, plots = evaluate_held_out(classifier, data, test_keys, out)
    plots["reliability, cross-validation"] = reliability_plot(
        cv["all"], out / "reliability_cv.png", title="out-of-fold, RSNA + mini-MIAS").name
    manifest["metrics"]["held_out_test"] = tests
    manifest["metrics"]["beyond_trivial_statistics"] = incremental_value(
        index, pack, chosen, held_out_scores)
    manifest["validation"] = ship_decision(manifest)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    write_card(manifest, out / "MODEL_CARD.md", plots=plots)
    print(json.dumps(manifest["validation"], indent=1), flush=True)
    return manifest


def _stage1_precision(stage1: dict[str, Any]) -> str:
    """The dtype policies stage 1 and its fine-tunes trained in (logs from before the choice was
    made by hardware were all mixed bfloat16)."""
    used = [stage1.get("precision", "mixed_bfloat16"), stage1.get("hard_precision")]
    return " then ".join(dict.fromkeys(u for u in used if u))
