"""Stage 2: the cancer model over the stage-1 network run convolutionally on the whole canvas.

The stage-1 DenseNet121 (lesion vs tissue on film) is run once over every pack canvas with the
engine the app ships (ONNX Runtime), giving a ``(16, 16, 1024)`` feature map per image (one
cell per 32 canvas pixels). On these CPUs fine-tuning the whole network on 512-pixel canvases
does not fit in a session, so stage 2 learns a small head over the cached maps:
``1x1 conv (1024 -> HIDDEN, ReLU) -> 1x1 conv (HIDDEN -> 1)`` gives a logit per cell (the
heatmap), pooled over 4x4-cell windows (128 pixels, the stage-1 patch) into the image logit.

Losses: the image's cancer label (RSNA, mini-MIAS malignant; DDSM images never count as
image-level positives, since every DDSM image holds a lesion and the model would learn
"film = cancer"), plus a lesion loss per cell on the located films (cells inside a finding
against breast cells outside it), which keeps the heatmap on lesions.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.aggregate import MAP_METHODS, aggregate_map
from core.training.pack_io import load_pack

HIDDEN = 32
CELL = 32  # canvas pixels per feature-map cell
WINDOW = 4
TRAIN_POOL_R = 4.0
TISSUE = 0.08 * 255


def backbone_model(stage1_weights: Path, canvas: int) -> Any:
    """The stage-1 DenseNet121 at the whole canvas: uint-free float input in [0, 1] ->
    the last feature map ``(n, canvas/32, canvas/32, 1024)``."""
    import keras

    from core.training.model import build_patch_model

    keras.mixed_precision.set_dtype_policy("float32")
    model = build_patch_model(patch=canvas, dropout=0.2)
    model.load_weights(str(stage1_weights))
    return model


def extract_features(pack_dir: Path, stage1_weights: Path, out: Path, *, batch: int = 4,
                     log: Any = print) -> Path:
    """Feature maps of every pack canvas, float16 ``(n, g, g, 1024)`` in ``out`` (resumable)."""
    index, canvases = load_pack(pack_dir / "index.json")
    canvas = int(index["canvas"])
    g = canvas // CELL
    onnx_path = out.with_suffix(".backbone.onnx")
    if not onnx_path.is_file():
        model = backbone_model(stage1_weights, canvas)
        model(np.zeros((1, canvas, canvas, 1), np.float32), training=False)
        model.export(str(onnx_path), format="onnx", verbose=False)
    sess, name, feat_out = feature_session(onnx_path)
    n = len(canvases)
    mode = "r+" if out.is_file() else "w+"
    feats = np.lib.format.open_memmap(out, mode=mode, dtype=np.float16,
                                      shape=(n, g, g, 1024))
    done_path = out.with_suffix(".done")
    done = int(done_path.read_text()) if done_path.is_file() and mode == "r+" else 0
    t0 = time.monotonic()
    for start in range(done, n, batch):
        x = canvases[start:start + batch, ..., None].astype(np.float32) / 255.0
        feats[start:start + len(x)] = sess.run([feat_out], {name: x})[0].astype(np.float16)
        if (start // batch) % 25 == 0:
            feats.flush()
            done_path.write_text(str(start + len(x)))
            rate = (time.monotonic() - t0) / max(1, start + len(x) - done)
            log(f"features {start + len(x)}/{n} ({rate:.2f} s per canvas)")
    feats.flush()
    done_path.write_text(str(n))
    return out


def feature_session(onnx_path: Path) -> tuple[Any, str, str]:
    """(ONNX Runtime session on every core, input name, feature-map output name)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    sess = ort.InferenceSession(str(onnx_path), sess_options=opts,
                                providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    feat_out = next(o.name for o in sess.get_outputs() if len(o.shape) == 4)
    return sess, name, feat_out


def cell_targets(row: dict[str, Any], canvas_img: np.ndarray, g: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(target, weight) maps ``(g, g)`` for the lesion loss: 1 for cells whose centre lies in a
    finding, 0 for breast cells clear of every finding by one cell, weight 0 elsewhere;
    positives are weighted up so that they count as much as the negatives of their image."""
    target = np.zeros((g, g), np.float32)
    weight = np.zeros((g, g), np.float32)
    if not row["findings"]:
        return target, weight
    tissue = canvas_img.reshape(g, CELL, g, CELL).mean(axis=(1, 3)) > TISSUE
    cy, cx = (np.mgrid[0:g, 0:g] + 0.5) * CELL
    inside = np.zeros((g, g), bool)
    near = np.zeros((g, g), bool)
    for f in row["findings"]:
        rx, ry = max(f["rx"], CELL / 2), max(f["ry"], CELL / 2)
        dx, dy = np.abs(cx - f["x"]), np.abs(cy - f["y"])
        if f.get("box"):
            inside |= (dx <= rx) & (dy <= ry)
        else:
            inside |= (dx / rx) ** 2 + (dy / ry) ** 2 <= 1
        near |= (dx <= rx + CELL) & (dy <= ry + CELL)
    neg = tissue & ~near
    target[inside] = 1.0
    n_pos, n_neg = inside.sum(), neg.sum()
    if n_pos:
        weight[inside] = min(20.0, max(1.0, n_neg / n_pos))
    weight[neg] = 1.0
    return target, weight


def build_head(g: int, *, hidden: int = HIDDEN, l2: float = 1e-4, dropout: float = 0.2) -> Any:
    """features (g, g, 1024) -> {"image": logit (1,), "cells": logit map (g, g)}."""
    import keras
    from keras import ops

    inp = keras.Input((g, g, 1024), name="features")
    x = keras.layers.Dropout(dropout)(inp)
    h = keras.layers.Conv2D(hidden, 1, activation="relu", name="hidden",
                            kernel_regularizer=keras.regularizers.L2(l2))(x)
    cam = keras.layers.Conv2D(1, 1, name="cam_conv",
                              kernel_regularizer=keras.regularizers.L2(l2))(h)
    win = keras.layers.AveragePooling2D(WINDOW, strides=1, name="windows")(cam)
    flat = keras.layers.Reshape((-1,))(win)
    r = TRAIN_POOL_R
    n = (g - WINDOW + 1) ** 2
    image = keras.layers.Lambda(
        lambda t: (ops.logsumexp(r * t, axis=1, keepdims=True) - float(np.log(n))) / r,
        name="image")(flat)
    cells = keras.layers.Reshape((g, g), name="cells")(cam)
    return keras.Model(inp, {"image": image, "cells": cells})


def _cell_loss(y_true: Any, y_pred: Any) -> Any:
    from keras import ops

    target, weight = y_true[..., 0], y_true[..., 1]
    bce = ops.maximum(y_pred, 0) - y_pred * target + ops.log1p(ops.exp(-ops.abs(y_pred)))
    return ops.sum(weight * bce, axis=(1, 2)) / ops.maximum(ops.sum(weight, axis=(1, 2)), 1.0)


def training_arrays(index: dict[str, Any], canvases: np.ndarray, g: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image label, image weight, cell targets+weights (n, g, g, 2), lesion-loss weight)."""
    rows = index["samples"]
    y = np.array([r["label"] if r["dataset"] != "ddsm" else 0 for r in rows], np.float32)
    counts = [r["dataset"] != "ddsm" for r in rows]
    w = np.array(counts, np.float32)
    cells = np.zeros((len(rows), g, g, 2), np.float32)
    located = np.zeros(len(rows), np.float32)
    for i, r in enumerate(rows):
        if r["findings"]:
            t, wt = cell_targets(r, canvases[i], g)
            cells[i, ..., 0], cells[i, ..., 1] = t, wt
            located[i] = 1.0
    return y, w, cells, located


def fit_head(feats: np.ndarray, idx: np.ndarray, arrays: tuple, *, epochs: int, seed: int,
             lesion_weight: float, batch_size: int = 32) -> Any:
    """Train a head on rows ``idx``; image classes balanced within the image loss."""
    import keras

    keras.utils.set_random_seed(seed)
    y, w, cells, located = arrays
    g = feats.shape[1]
    model = build_head(g)
    yi, wi = y[idx], w[idx].copy()
    pos = (yi == 1) & (wi > 0)
    neg = (yi == 0) & (wi > 0)
    if pos.any() and neg.any():
        wi[pos] *= 0.5 * wi.sum() / pos.sum()
        wi[neg] *= 0.5 * wi.sum() / neg.sum()
    steps = epochs * int(np.ceil(len(idx) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss={"image": keras.losses.BinaryCrossentropy(from_logits=True),
                        "cells": _cell_loss},
                  loss_weights={"image": 1.0, "cells": lesion_weight})
    model.fit(feats[idx].astype(np.float32), {"image": yi[:, None], "cells": cells[idx]},
              sample_weight={"image": wi, "cells": located[idx]}, batch_size=batch_size,
              epochs=epochs, verbose=0, shuffle=True)
    return model


def predict_maps(model: Any, feats: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Cell logit maps ``(len(idx), g, g)``."""
    out = []
    for s in range(0, len(idx), 64):
        out.append(model.predict(feats[idx[s:s + 64]].astype(np.float32), verbose=0)["cells"])
    return np.concatenate(out)


def cross_validate(pack_dir: Path, feats_path: Path, work: Path, *, epochs: int = 30,
                   lesion_weight: float = 0.5, seed: int = 0, log: Any = print
                   ) -> dict[str, Any]:
    """Out-of-fold maps of every development image (pack folds), then the final head on all
    development patients; writes ``stage2_results.json`` and ``stage2_head.weights.h5``."""
    import keras

    keras.mixed_precision.set_dtype_policy("float32")
    index, canvases = load_pack(pack_dir / "index.json")
    feats = np.load(feats_path, mmap_mode="r")
    feats = np.asarray(feats)
    g = feats.shape[1]
    arrays = training_arrays(index, canvases, g)
    folds = np.array([r["fold"] for r in index["samples"]])
    oof = np.zeros((len(folds), g, g), np.float32)
    t0 = time.monotonic()
    for k in sorted(set(folds[folds >= 0].tolist())):
        train_idx = np.nonzero((folds >= 0) & (folds != k))[0]
        val_idx = np.nonzero(folds == k)[0]
        model = fit_head(feats, train_idx, arrays, epochs=epochs, seed=seed + k,
                         lesion_weight=lesion_weight)
        oof[val_idx] = predict_maps(model, feats, val_idx)
        log(f"stage 2 fold {k}: {len(train_idx)} train, {len(val_idx)} out of fold "
            f"({time.monotonic() - t0:.0f} s)")
    dev_idx = np.nonzero(folds >= 0)[0]
    final = fit_head(feats, dev_idx, arrays, epochs=epochs, seed=seed + 100,
                     lesion_weight=lesion_weight)
    final.save_weights(str(work / "stage2_head.weights.h5"))
    predictions = {}
    for i in dev_idx:
        r = index["samples"][i]
        cam = oof[i]
        predictions[r["key"]] = {
            "source": "oof", "fold": int(folds[i]),
            "map_logits": {m: aggregate_map(cam, m) for m in MAP_METHODS},
            "peak": _peak(cam, int(index["canvas"]))}
    results = {"recipe": "two-stage", "epochs": epochs, "lesion_weight": lesion_weight,
               "hidden": HIDDEN, "seed": seed, "seconds": round(time.monotonic() - t0),
               "cv_folds": int(folds.max()) + 1, "predictions": predictions}
    (work / "stage2_results.json").write_text(json.dumps(results))
    return results


def _peak(cam: np.ndarray, canvas: int) -> list[float]:
    from core.inference.classifier import heatmap_peak

    x, y = heatmap_peak(cam, canvas=canvas)
    return [round(x, 1), round(y, 1)]


def peak_in_finding(f: dict[str, Any], px: float, py: float) -> bool:
    """Whether a canvas point lies in a pack finding: its box (DDSM) or its ellipse."""
    if f.get("box"):
        return abs(px - f["x"]) <= f["rx"] and abs(py - f["y"]) <= f["ry"]
    return ((px - f["x"]) / f["rx"]) ** 2 + ((py - f["y"]) / f["ry"]) ** 2 <= 1


def peak_share(hits: int, total: int) -> dict[str, Any]:
    """Images, peaks inside, their share and its Wilson interval (rounded for the card)."""
    from core.metrics import wilson_interval

    lo, hi = wilson_interval(hits, total)
    return {"images": total, "peak_inside": hits, "share": round(hits / total, 4),
            "share_ci": [round(lo, 4), round(hi, 4)]}


def stage1_patch_report(pack_dir: Path, work: Path
                        ) -> tuple[dict[str, Any], dict[str, Any], np.ndarray, np.ndarray]:
    """(pack index, held-out patch AUC with its interval, stage-1 head kernel and bias)."""
    import keras

    from core.metrics import bootstrap_ci, roc_auc
    from core.training.model import build_patch_model
    from core.training.stage1 import heldout_patches

    keras.mixed_precision.set_dtype_policy("float32")
    index, canvases = load_pack(pack_dir / "index.json")
    patch_model = build_patch_model(dropout=0.2)
    patch_model.load_weights(str(work / "stage1.weights.h5"))
    kernel, bias = (np.asarray(v, np.float32) for v in
                    patch_model.get_layer("logit").get_weights())
    x, y = heldout_patches(index, canvases)
    scores = patch_model.predict(x.astype(np.float32) / 255.0, batch_size=64, verbose=0)[0][:, 0]
    out: dict[str, Any] = {"patch_auc": round(roc_auc(y, scores), 4),
                           "patch_auc_ci": [round(v, 4) for v in bootstrap_ci(roc_auc, y, scores,
                                                                               n=1000)],
                           "patches": int(len(y)), "lesion_patches": int(y.sum())}
    return index, out, kernel, bias


def stage1_report(pack_dir: Path, work: Path, feats_path: Path) -> dict[str, Any]:
    """What stage 1 alone learnt, on patients it never saw: patch AUC with its interval,
    heatmap peaks inside held-out lesions (its own head over the whole-canvas feature maps),
    and how its score transfers to RSNA cancers (never seen by stage 1 at all)."""
    from core.evaluation import summarise

    index, out, kernel, bias = stage1_patch_report(pack_dir, work)
    feats = np.load(feats_path, mmap_mode="r")
    canvas = int(index["canvas"])
    rows = index["samples"]
    cams = {}
    for i, r in enumerate(rows):
        if r["dataset"] == "rsna" or (r["fold"] < 0 and r["findings"]):
            cams[i] = np.asarray(feats[i], np.float32) @ kernel[:, 0] + bias[0]
    for name in ("ddsm", "mias"):
        hits = total = 0
        for i, cam in cams.items():
            r = rows[i]
            if r["dataset"] != name or r["fold"] >= 0:
                continue
            total += 1
            px, py = _peak(cam, canvas)
            hits += any(peak_in_finding(f, px, py) for f in r["findings"])
        if total:
            out[f"{name}_heldout_peak_inside"] = peak_share(hits, total)
    rsna = [i for i in cams if rows[i]["dataset"] == "rsna"]
    yr = np.array([rows[i]["label"] for i in rsna])
    zr = np.array([aggregate_map(cams[i], "map-win4-max") for i in rsna])
    rep = summarise(yr, 1 / (1 + np.exp(-zr)), [rows[i]["patient_id"] for i in rsna],
                    threshold=0.5)
    out["rsna_transfer_zero_shot"] = {"images": len(rsna), "auc": rep["auc"],
                                      "auc_ci": rep["auc_ci"],
                                      "pooling": "map-win4-max of the stage-1 head"}
    return out
