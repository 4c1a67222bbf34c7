"""Turn a finished training run into a model folder.

Every choice is made on the out-of-fold predictions of the cross-validation runs (patients
the fold model never saw): the pooling of patch logits, the Platt calibration and the
threshold at the stated operating point. The final model (all development patients) is then
exported and evaluated once, on the held-out test patients, by the same code as
``mammo evaluate``.
"""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.aggregate import METHODS, aggregate
from core.inference.preprocess import PREPROCESSING_VERSION
from core.metrics import (
    bootstrap_ci,
    fit_platt,
    roc_auc,
    sigmoid,
    threshold_at_specificity,
)
from core.training.model import PATCH

OPERATING_SPECIFICITY = 0.80


def _code_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=10, check=False)
        return out.stdout.strip() or None
    except OSError:
        return None


def choose(results: dict[str, Any], index: dict[str, Any]) -> dict[str, Any]:
    """Pooling, calibration and threshold from the out-of-fold predictions."""
    rows = {r["key"]: r for r in index["samples"]}
    oof = [(rows[k], v) for k, v in results["predictions"].items() if v["source"] == "oof"]
    y = np.array([r["label"] for r, _ in oof])
    logits = np.array([v["logits"] for _, v in oof])
    aucs = {m: roc_auc(y, aggregate(logits, m)) for m in METHODS}
    method = max(aucs, key=lambda m: aucs[m])
    z = aggregate(logits, method)
    a, b = fit_platt(z, y)
    clipped = a <= 0
    if clipped:
        # Out of fold, higher logits did not mean more cancer: a negative slope would turn the
        # model upside down. The honest calibrated score is then the prevalence for everyone.
        prevalence = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        a, b = 0.0, float(np.log(prevalence / (1 - prevalence)))
    p = sigmoid(a * z + b)
    threshold = threshold_at_specificity(y, p, OPERATING_SPECIFICITY)
    return {"aggregation": method, "oof_auc_by_aggregation": {m: round(v, 4)
                                                              for m, v in aucs.items()},
            "calibration": {"method": "platt", "a": a, "b": b, "slope_clipped_at_zero": clipped,
                            "fitted_on": "out-of-fold predictions of the CV runs"},
            "threshold": float(threshold), "oof": oof, "oof_p": p}


def cv_report(chosen: dict[str, Any], canvas: int) -> dict[str, Any]:
    """Cross-validated figures per data set and pooled, with intervals."""
    from core.evaluation import summarise
    from core.metrics import wilson_interval

    oof, p = chosen["oof"], chosen["oof_p"]
    out: dict[str, Any] = {}
    for name in ("rsna", "mias", "all"):
        idx = [i for i, (r, _) in enumerate(oof) if name == "all" or r["dataset"] == name]
        if not idx:
            continue
        out[name] = summarise(np.array([oof[i][0]["label"] for i in idx]), p[idx],
                              [oof[i][0]["patient_id"] for i in idx],
                              threshold=chosen["threshold"])
    hits = total = 0
    for r, v in oof:  # peak inside a finding, on the canvas (an exact linear map of the image)
        fs = r["findings"]
        if not fs:
            continue
        total += 1
        px, py = v["peak"]
        hits += any(((px - f["x"]) / f["rx"]) ** 2 + ((py - f["y"]) / f["ry"]) ** 2 <= 1
                    for f in fs)
    out["mias_localisation_any_finding"] = {
        "images": total, "peak_inside": hits,
        "share": round(hits / total, 4) if total else None,
        "share_ci": list(wilson_interval(hits, total)) if total else None}
    return out


# Trivial image statistics of a pack canvas (grey levels in [0, 1]), by name.
CANVAS_STATS = {"mean_intensity": lambda c: c.mean(),
                "tissue_share": lambda c: (c > 0.04).mean(),
                "contrast_std": lambda c: c.std()}


def _canvas_stats(pack_dir: Path, rows: list[dict[str, Any]]) -> np.ndarray:
    """``CANVAS_STATS`` of each row's pack canvas: (n, 3)."""
    from PIL import Image

    out = []
    for r in rows:
        c = np.asarray(Image.open(pack_dir / r["file"]), dtype=np.float32) / 255
        out.append([f(c) for f in CANVAS_STATS.values()])
    return np.array(out, dtype=np.float64)


def shortcut_baselines(index: dict[str, Any], pack_dir: Path) -> dict[str, Any]:
    """AUC of trivial image statistics on the held-out test images: if these are far from 0.5,
    the classes differ in ways that are not cancer (site, scanner, processing), and part of
    any model's AUC may come from that."""
    out: dict[str, Any] = {}
    for name in ("rsna", "mias"):
        rows = [r for r in index["samples"] if r["fold"] < 0 and r["dataset"] == name]
        if not rows or len({r["label"] for r in rows}) < 2:
            continue
        y = np.array([r["label"] for r in rows])
        ids = [r["patient_id"].rsplit("-", 1)[-1].lstrip("mias_p") for r in rows]
        image_stats = _canvas_stats(pack_dir, rows)
        stats = {"patient_id_number": [float(i) if i.isdigit() else 0.0 for i in ids],
                 **{key: image_stats[:, j] for j, key in enumerate(CANVAS_STATS)}}
        # either direction counts: report max(AUC, 1 - AUC)
        out[name] = {k: round(max(roc_auc(y, np.array(v)), 1 - roc_auc(y, np.array(v))), 4)
                     for k, v in stats.items()}
    return out


def _architecture(results: dict[str, Any]) -> str:
    one = ("DenseNet121 (weights=None, from scratch), 1-channel 128x128 patches, "
           "GlobalAveragePooling -> Dropout(0.3) -> Dense(1) -> sigmoid")
    if results.get("ship", "final") != "ensemble":
        return one
    k = int(results["cv_folds"])
    return (f"Ensemble of the {k} cross-validation models, each a {one}; the logits are "
            f"averaged (one Dense head over their concatenated feature maps, so the heatmap "
            f"stays an exact class activation map). Each member never saw the patients it "
            f"predicted out of fold")


def fit_logistic(x: np.ndarray, y: np.ndarray, *, ridge: float = 1e-3, iters: int = 50
                 ) -> Any:
    """Logistic regression by Newton's method on standardised columns; returns a function
    mapping rows of ``x`` to logits."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-12
    z = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    w = np.zeros(z.shape[1])
    t = np.asarray(y, dtype=np.float64)
    for _ in range(iters):
        p = sigmoid(z @ w)
        g = z.T @ (p - t) + ridge * np.r_[0, w[1:]]
        h = (z * (p * (1 - p))[:, None]).T @ z + ridge * np.eye(len(w))
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return lambda rows: np.column_stack([np.ones(len(rows)), (rows - mu) / sd]) @ w


def incremental_value(index: dict[str, Any], pack_dir: Path, chosen: dict[str, Any],
                      held_out_scores: dict[str, float], dataset: str = "rsna"
                      ) -> dict[str, Any] | None:
    """Does the model add anything to trivial image statistics?

    Two logistic regressions are fitted on the development patients' out-of-fold data: the
    statistics alone, and the statistics plus the model's (out-of-fold, calibrated) logit. Both
    are then scored on the held-out test patients, next to the model alone, with bootstrap
    intervals. If "statistics + model" is no better than "statistics", the model's AUC may be
    the statistics' (site, scanner, density), not cancer."""
    from core.evaluation import summarise

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    dev = [(r, p) for (r, _), p in zip(chosen["oof"], chosen["oof_p"], strict=True)
           if r["dataset"] == dataset]
    by_key = {r["key"]: r for r in index["samples"]}
    test = [(by_key[k], s) for k, s in held_out_scores.items()
            if k in by_key and by_key[k]["dataset"] == dataset]
    if len(dev) < 20 or len(test) < 20:
        return None
    y_dev = np.array([r["label"] for r, _ in dev])
    y_test = np.array([r["label"] for r, _ in test])
    if not (0 < y_dev.sum() < len(y_dev) and 0 < y_test.sum() < len(y_test)):
        return None
    s_dev = _canvas_stats(pack_dir, [r for r, _ in dev])
    s_test = _canvas_stats(pack_dir, [r for r, _ in test])
    m_dev = logit(np.array([p for _, p in dev]))[:, None]
    m_test = logit(np.array([s for _, s in test]))[:, None]
    stats_only = fit_logistic(s_dev, y_dev)
    combined = fit_logistic(np.hstack([s_dev, m_dev]), y_dev)
    groups = [r["patient_id"] for r, _ in test]

    def auc(score: np.ndarray) -> dict[str, Any]:
        rep = summarise(y_test, sigmoid(score), groups, threshold=0.5)
        return {"auc": rep["auc"], "auc_ci": rep["auc_ci"]}

    both = np.column_stack([combined(np.hstack([s_test, m_test])), stats_only(s_test)])

    def gain(yy: np.ndarray, ss: np.ndarray) -> float:
        return roc_auc(yy, ss[:, 0]) - roc_auc(yy, ss[:, 1])

    lo, hi = bootstrap_ci(gain, y_test, both, groups=groups, n=1000, seed=0)
    return {"dataset": dataset, "held_out_images": len(test),
            "statistics": [k.replace("_", " ") for k in CANVAS_STATS],
            "model_alone": auc(m_test[:, 0]),
            "statistics_alone": auc(both[:, 1]),
            "statistics_plus_model": auc(both[:, 0]),
            # Paired over the same bootstrap resamples of patients.
            "difference": round(gain(y_test, both), 4),
            "difference_ci": [round(lo, 4), round(hi, 4)]}


def build_manifest(*, model_id: str, chosen: dict[str, Any], results: dict[str, Any],
                   index: dict[str, Any], cv: dict[str, Any], hardware: str) -> dict[str, Any]:
    dev_patients = sorted({r["patient_id"] for r in index["samples"] if r["fold"] >= 0})
    return {
        "id": model_id,
        "name": "DenseNet121 multiple-instance patch classifier (research prototype)",
        "intended_use": "Research use only. Not a medical device; not for diagnosis.",
        "architecture": _architecture(results),
        "input_size": PATCH, "canvas": int(index["canvas"]),
        "patches": (int(index["canvas"]) // PATCH) ** 2,
        "scale": "breast crop stretched to a square canvas, then a grid of patches",
        "preprocessing_version": PREPROCESSING_VERSION,
        "aggregation": {"method": chosen["aggregation"],
                        "chosen_on": "out-of-fold AUC",
                        "oof_auc_by_method": chosen["oof_auc_by_aggregation"]},
        "calibration": chosen["calibration"],
        "threshold": chosen["threshold"],
        "operating_point": {"target_specificity": OPERATING_SPECIFICITY,
                            "expected": cv["all"]["at_threshold"]},
        "metrics": {"cross_validation": {k: v for k, v in cv.items()}},
        "training": {"epochs": results["epochs"], "cv_folds": results["cv_folds"],
                     "seed": results["seed"], "batch_size": results["batch_size"],
                     "learning_rate": results["learning_rate"],
                     "ships": results.get("ship", "final"),
                     "precision": results["precision"], "backend": results["backend"],
                     "seconds": round(results["total_s"]), "hardware": hardware,
                     "patients": dev_patients, "code_commit": _code_commit(),
                     "python": platform.python_version()},
        "data": [
            {"name": "RSNA Screening Mammography (640x640 re-export, development subset)",
             "terms": "non-commercial research and education only; cite the RSNA challenge"},
            {"name": "mini-MIAS (development subset)",
             "terms": "research use only; cite Suckling et al. 1994; never rent, lease or sell"},
        ],
        "split": {"test_share": index["test_share"], "folds_in_pack": index["folds"],
                  "seed": index["seed"], "by": "patient",
                  "test_patients": sorted({r["patient_id"] for r in index["samples"]
                                           if r["fold"] < 0})},
    }


def finalize(work: Path, pack_index: Path, out: Path, *, model_id: str, hardware: str
             ) -> tuple[Path, dict[str, Any]]:
    """Write the model folder ``out`` from a finished run in ``work``; returns the manifest's
    path and the choices made on the out-of-fold predictions (:func:`choose`)."""
    import keras

    from core.training.export import export_model_folder
    from core.training.model import build_ensemble_patch_model, build_patch_model

    results = json.loads((work / "results.json").read_text())
    index = json.loads(Path(pack_index).read_text())
    chosen = choose(results, index)
    cv = cv_report(chosen, int(index["canvas"]))
    manifest = build_manifest(model_id=model_id, chosen=chosen, results=results, index=index,
                              cv=cv, hardware=hardware)
    manifest["metrics"]["shortcut_baselines_held_out"] = shortcut_baselines(
        index, Path(pack_index).parent)
    keras.mixed_precision.set_dtype_policy("float32")
    if results.get("ship", "final") == "ensemble":
        members = []
        for k in range(int(results["cv_folds"])):
            member = build_patch_model(name=f"fold{k}")
            member.load_weights(str(work / f"patch_model_fold{k}.weights.h5"))
            members.append(member)
        patch_model = build_ensemble_patch_model(members)
    else:
        patch_model = build_patch_model()
        patch_model.load_weights(str(work / "patch_model.weights.h5"))
    return export_model_folder(patch_model, out, manifest), chosen


def evaluate_held_out(classifier: Any, data: list[Path], test_keys: set[str], out: Path
                      ) -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
    """Score the held-out images of each data folder with the exported model, by the code of
    ``mammo evaluate``: (reports by data set, score by sample key, reliability plots).

    A set whose held-out images are all of one class (DDSM: every image holds a lesion) gets
    its localisation only: an AUC needs both classes."""
    from core.evaluation import evaluate_samples, localisation, reliability_plot, score_samples
    from core.training.data import load_folder

    tests: dict[str, Any] = {}
    scores: dict[str, float] = {}
    plots: dict[str, str] = {}
    for folder in data:
        samples = [s for s in load_folder(folder) if s.key in test_keys]
        if not samples:
            continue
        name = samples[0].dataset
        print(f"evaluating on {len(samples)} held-out {name} images", flush=True)
        if len({s.label for s in samples}) < 2:
            scored = score_samples(classifier, samples, max_file_bytes=1 << 30,
                                   max_pixels=400_000_000)
            ok = [s for s in scored if s.score is not None]
            tests[name] = {"images": len(ok), "patients": len({s.sample.patient_id for s in ok}),
                           "mean_score": round(float(np.mean([s.score for s in ok])), 4)
                           if ok else None,
                           "localisation": localisation(ok)}
            continue
        report, scored = evaluate_samples(classifier, samples, max_file_bytes=1 << 30,
                                          max_pixels=400_000_000)
        tests[name] = report
        scores.update({s.sample.key: s.score for s in scored if s.score is not None})
        plots[f"reliability, held-out {name}"] = reliability_plot(
            report, out / f"reliability_test_{name}.png", title=f"held-out {name}").name
    return tests, scores, plots
