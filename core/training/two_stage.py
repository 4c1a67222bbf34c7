"""The two-stage recipe end to end: pack -> gates -> stage 1 -> features -> stage 2 -> model.

``python -m core.training.two_stage all --data D... --work W --out models/<id>`` runs every
step (each resumable: a step whose output exists is skipped); the steps can also be run one
by one (``pack``, ``gates``, ``stage1``, ``features``, ``hard``, ``features`` again,
``stage2``, ``finish``). ``hard`` (stage 1b, :mod:`core.training.stage1_hard`) fine-tunes stage
1 on the windows it scores highest away from any lesion, then the window features are read
again with it.

The shipped model is one ONNX graph: the stage-1 DenseNet121 (on a 128x128 window in the
default windows layout, :mod:`core.inference.windows`; over the whole 512-pixel canvas in the
``canvas`` layout of model v2), then the stage-2 hidden layer (its output is the "feature map"
the app reads), and a GlobalAveragePooling -> Dense(1) -> sigmoid head whose weights are the
stage-2 cell layer, so ``features @ w + b`` are exactly the cell logits of the heatmap and the
manifest's pooling gives the image logit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.aggregate import MAP_METHODS
from core.inference.preprocess import CANVAS, PREPROCESSING_VERSION
from core.metrics import fit_platt, roc_auc, sigmoid, threshold_at_specificity, wilson_interval

OPERATING_SPECIFICITY = 0.80
DATA_TERMS = [
    {"name": "RSNA Screening Mammography (640x640 re-export, development subset)",
     "terms": "non-commercial research and education only; cite the RSNA challenge"},
    {"name": "mini-MIAS (development subset)",
     "terms": "research use only; cite Suckling et al. 1994; never rent, lease or sell"},
    {"name": "DDSM lesion boxes (Roboflow export, CC BY 4.0; Mini-DDSM pathology)",
     "terms": "research and education; cite DDSM (Heath et al. 2001); keep the CC BY 4.0 "
              "attribution"},
]


def build_shipped_model(stage1_weights: Path, head_weights: Path, *, canvas: int = CANVAS
                        ) -> Any:
    """canvas (n, c, c, 1) in [0, 1] -> [score (n, 1), hidden feature map (n, c/32, c/32, H)]."""
    from core.training.stage2 import CELL, backbone_model, build_head

    backbone = backbone_model(stage1_weights, canvas)
    head = build_head(canvas // CELL)
    head.load_weights(str(head_weights))
    hidden = head.get_layer("hidden")
    kernel, bias = head.get_layer("cam_conv").get_weights()
    base = backbone.get_layer("features").output
    h = hidden(base)
    return _with_cell_head(backbone.input, h, kernel, bias, "densenet121_two_stage")


def build_shipped_windows_model(stage1_weights: Path, head: Path, pca: Path) -> Any:
    """window (n, 128, 128, 1) in [0, 1] -> [score (n, 1), hidden cell map (n, 4, 4, H)].

    The stage-1 patch network, then the stage-2 hidden layer per cell (its output is the feature
    map the app reads) and GlobalAveragePooling -> Dense(1) -> sigmoid with the stage-2 read-out
    (``head``: the :func:`core.training.stage2_windows.cell_weights` file, every branch and
    ensemble member side by side), so ``features @ w + b`` are the cell logits and their mean
    the window's."""
    import keras

    from core.inference.windows import WINDOW
    from core.training.model import build_patch_model

    patch = build_patch_model(patch=WINDOW, dropout=0.2)
    patch.load_weights(str(stage1_weights))
    projection = np.load(pca)
    mean, comps = projection["mean"], projection["components"]
    cells = np.load(head)
    w_h, b_h = cells["w_hidden"], cells["b_hidden"]
    base = patch.get_layer("features").output
    hidden = keras.layers.Dense(w_h.shape[1], activation="relu", name="hidden")
    h = hidden(base)
    # The head learnt on (x - mean) @ comps: folded into one 1024 -> H layer.
    hidden.set_weights([comps @ w_h, b_h - mean @ comps @ w_h])
    return _with_cell_head(patch.input, h, cells["w_out"], np.asarray(cells["b_out"]),
                           "densenet121_two_stage_windows")


def _with_cell_head(inp: Any, h: Any, kernel: np.ndarray, bias: np.ndarray, name: str) -> Any:
    """The app's contract over a hidden cell map ``h``: [score, h], where the score is
    GlobalAveragePooling -> Dense(1) -> sigmoid with the stage-2 cell layer's weights, so
    ``features @ w + b`` are exactly the cell logits."""
    import keras

    pooled = keras.layers.GlobalAveragePooling2D(name="gap_hidden")(h)
    dense = keras.layers.Dense(1, name="logit", dtype="float32")
    logit = dense(pooled)
    dense.set_weights([kernel.reshape(-1, 1), bias.reshape(1)])
    score = keras.layers.Activation("sigmoid", name="score_out", dtype="float32")(logit)
    feats = keras.layers.Activation("linear", name="hidden_features", dtype="float32")(h)
    return keras.Model(inp, [score, feats], name=name)


def choose(results: dict[str, Any], index: dict[str, Any]) -> dict[str, Any]:
    """Pooling, Platt calibration and threshold on the out-of-fold RSNA and mini-MIAS images
    (DDSM images carry no cancer label)."""
    rows = {r["key"]: r for r in index["samples"]}
    oof = [(rows[k], v) for k, v in results["predictions"].items()
           if v["source"] == "oof" and rows[k]["dataset"] != "ddsm"]
    y = np.array([r["label"] for r, _ in oof])
    methods = list(oof[0][1]["map_logits"]) if oof else list(MAP_METHODS)
    aucs = {m: roc_auc(y, np.array([v["map_logits"][m] for _, v in oof])) for m in methods}
    method = max(aucs, key=lambda m: aucs[m])
    z = np.array([v["map_logits"][method] for _, v in oof])
    a, b = fit_platt(z, y)
    clipped = a <= 0
    if clipped:
        prevalence = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        a, b = 0.0, float(np.log(prevalence / (1 - prevalence)))
    p = sigmoid(a * z + b)
    threshold = threshold_at_specificity(y, p, OPERATING_SPECIFICITY)
    return {"aggregation": method,
            "oof_auc_by_aggregation": {m: round(v, 4) for m, v in aucs.items()},
            "calibration": {"method": "platt", "a": a, "b": b, "slope_clipped_at_zero": clipped,
                            "fitted_on": "out-of-fold predictions (RSNA + mini-MIAS)"},
            "threshold": float(threshold), "oof": oof, "oof_p": p}


def ddsm_oof_localisation(results: dict[str, Any], index: dict[str, Any],
                          fold: int | None = None) -> dict[str, Any]:
    """Share of out-of-fold DDSM heatmap peaks inside the lesion box (canvas coordinates), of
    every development fold or of one."""
    rows = {r["key"]: r for r in index["samples"]}
    hits = total = 0
    for k, v in results["predictions"].items():
        r = rows[k]
        if r["dataset"] != "ddsm" or not r["findings"] or fold not in (None, r["fold"]):
            continue
        total += 1
        px, py = v["peak"]
        hits += any(abs(px - f["x"]) <= f["rx"] and abs(py - f["y"]) <= f["ry"]
                    for f in r["findings"])
    return {"images": total, "peak_inside": hits,
            "share": round(hits / total, 4) if total else None,
            "share_ci": list(wilson_interval(hits, total)) if total else None}


def ship_decision(manifest: dict[str, Any]) -> dict[str, Any]:
    """The rule of ``models/README.md``, checked on the manifest's figures."""
    met = manifest["metrics"]
    cv = met["cross_validation"].get("all", {})
    test = met.get("held_out_test", {})
    beyond = met.get("beyond_trivial_statistics") or {}
    ddsm = (test.get("ddsm") or {}).get("localisation", {}).get("any_finding", {})
    checks = {
        "cv_auc_ci_above_0.5": bool(cv.get("auc_ci") and cv["auc_ci"][0] > 0.5),
        "held_out_rsna_auc_ci_above_0.5": bool((test.get("rsna") or {}).get("auc_ci")
                                               and test["rsna"]["auc_ci"][0] > 0.5),
        "calibration_slope_positive": float(manifest["calibration"]["a"]) > 0,
        "adds_to_trivial_statistics": bool(beyond.get("difference_ci")
                                           and beyond["difference_ci"][0] > 0),
        "ddsm_peak_in_box_at_least_half": bool(ddsm.get("share") is not None
                                               and ddsm["share"] >= 0.5),
    }
    return {"passes": all(checks.values()), "checks": checks}


def main(argv: list[str] | None = None) -> int:
    from core.training import two_stage_steps as steps

    p = argparse.ArgumentParser(description="Two-stage training (lesions, then cancer).")
    p.add_argument("step", choices=["pack", "gates", "stage1", "features", "hard", "cells",
                                    "stage2", "finish", "all"])
    p.add_argument("--data", type=Path, action="append", default=None)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--stage1-budget", type=float, default=3600.0, help="seconds")
    p.add_argument("--stage1-epochs", type=int, default=24)
    p.add_argument("--stage2-epochs", type=int, default=20)
    p.add_argument("--hard-epochs", type=int, default=5,
                   help="stage 1b: epochs of fine-tuning on mined hard negatives (0: none)")
    p.add_argument("--hard-rounds", type=int, default=1,
                   help="stage 1b: rounds of --hard-epochs epochs; each round after the first "
                        "mines new hard negatives with the network as it is then")
    p.add_argument("--cell-epochs", type=int, default=0,
                   help="stage 1c: epochs of fine-tuning with a loss per cell (0: none)")
    p.add_argument("--cell-holdout-fold", type=int, default=0,
                   help="stage 1c leaves this development fold's films out, so that their "
                        "out-of-fold heatmaps measure it honestly (-1: none)")
    p.add_argument("--lesion-branch", type=int, default=0,
                   help="windows layout: width of a separate lesion branch that the lesion "
                        "losses train and whose logit weighs the cancer branch's cells (0: one "
                        "branch for every loss)")
    p.add_argument("--peak-weight", type=float, default=0.0,
                   help="windows layout: weight of the peak loss (where the heatmap peaks, as a "
                        "softmax over each located film's cells; 0: off)")
    p.add_argument("--block5-epochs", type=int, default=0,
                   help="windows layout: fine-tune the network's last dense block with the "
                        "stage-2 head for this many epochs (0: head over frozen features)")
    p.add_argument("--block5-groups", default="[[0, 1], [2, 3]]",
                   help="with --block5-epochs: the development folds scored together out of "
                        "fold (JSON list of lists)")
    p.add_argument("--members", type=int, default=1,
                   help="windows layout: stage-2 heads averaged (different seeds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layout", choices=["windows", "canvas"], default="windows",
                   help="stage 2 over overlapping 128x128 windows (v2b, default) or the stage-1 "
                        "network run over the whole canvas (v2)")
    p.add_argument("--hardware", default=None)
    p.add_argument("--gate-scale", type=float, default=1.0,
                   help="fraction of the gates' steps (smoke runs only)")
    p.add_argument("--limit", type=int, default=None,
                   help="at most this many images per data set (smoke runs only)")
    a = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    hardware = a.hardware or f"{os.cpu_count()}-core {platform.machine()} CPU"
    t0 = time.monotonic()
    order = ["pack", "gates", "stage1", "features", "stage2", "finish"]
    if a.layout == "windows" and a.hard_epochs > 0:
        order = ["pack", "gates", "stage1", "features", "hard", "cells", "features", "stage2",
                 "finish"]
    for step in order if a.step == "all" else [a.step]:
        print(f"== {step} ({time.monotonic() - t0:.0f} s)", flush=True)
        steps.run_step(step, a, hardware=hardware)
    return 0


def manifest_base(*, model_id: str, chosen: dict[str, Any], index: dict[str, Any],
                  cv: dict[str, Any], training: dict[str, Any], layout: str = "canvas"
                  ) -> dict[str, Any]:
    base = _manifest_common(model_id=model_id, chosen=chosen, index=index, cv=cv,
                            training=training)
    if layout == "windows":
        from core.inference.windows import EDGE_WEIGHT, STRIDE, WINDOW

        base.update({
            "architecture": (
                "DenseNet121 (weights=None, from scratch) trained on 128x128 film patches, lesion"
                " against tissue (stage 1), run on overlapping 128x128 windows (stride 64) centred"
                " on breast tissue; per 32-pixel cell a 1x1 layer to 32 channels with ReLU and"
                " one to a logit (stage 2, trained on the cancer labels with lesion losses per"
                " window and per cell); a window's logit is the mean of its 16 cells, the image"
                " logit pools the window logits; the heatmap is the weighted mean of the cells of"
                f" overlapping windows (border cells {EDGE_WEIGHT}, inner cells 1)"),
            "input_size": WINDOW, "patches": None,
            "layout": {"kind": "windows", "window": WINDOW, "stride": STRIDE,
                       "tissue_level": 0.08, "edge_weight": EDGE_WEIGHT},
            "scale": "breast crop (skin line kept) stretched to a square canvas, cut into "
                     "overlapping windows"})
    return base


def _manifest_common(*, model_id: str, chosen: dict[str, Any], index: dict[str, Any],
                     cv: dict[str, Any], training: dict[str, Any]) -> dict[str, Any]:
    canvas = int(index["canvas"])
    return {
        "id": model_id,
        "name": "DenseNet121 two-stage lesion/cancer model (research prototype)",
        "intended_use": "Research use only. Not a medical device; not for diagnosis.",
        "architecture": (
            "DenseNet121 (weights=None, from scratch) trained on 128x128 film patches, lesion"
            " against tissue (stage 1), run convolutionally over the whole canvas; a 1x1"
            f" convolution to 32 channels with ReLU and a 1x1 convolution to one logit per"
            f" {canvas // 16}-pixel cell (stage 2, trained on the cancer labels with a lesion"
            " loss); the image logit pools the cell logits over 4x4-cell (128-pixel) windows"),
        "input_size": canvas, "canvas": canvas, "patches": 1,
        "scale": "breast crop (skin line kept) stretched to a square canvas, one input",
        "preprocessing_version": PREPROCESSING_VERSION,
        "aggregation": {"method": chosen["aggregation"], "chosen_on": "out-of-fold AUC",
                        "oof_auc_by_method": chosen["oof_auc_by_aggregation"]},
        "calibration": chosen["calibration"],
        "threshold": chosen["threshold"],
        "operating_point": {"target_specificity": OPERATING_SPECIFICITY,
                            "expected": cv["all"]["at_threshold"]},
        "metrics": {"cross_validation": cv},
        "training": training,
        "data": DATA_TERMS,
        "split": {"test_share": index["test_share"], "folds_in_pack": index["folds"],
                  "seed": index["seed"], "by": "patient (case for DDSM)",
                  "test_patients": sorted({r["patient_id"] for r in index["samples"]
                                           if r["fold"] < 0})},
    }


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["build_shipped_model", "build_shipped_windows_model", "choose",
           "ddsm_oof_localisation", "manifest_base", "ship_decision", "json"]
