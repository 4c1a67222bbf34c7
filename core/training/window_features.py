"""Stage-1 feature maps of every breast window of every pack canvas (model v2b, windows layout).

Each canvas is cut into 128x128 windows at a 64-pixel stride (:mod:`core.inference.windows`);
the windows centred on breast tissue are run through the stage-1 DenseNet121 with the engine
the app ships (ONNX Runtime) and their ``(4, 4, 1024)`` feature maps are kept in float16, in a
memory-mapped ``(n, k*k, 4, 4, 1024)`` array (zeros for windows not run) with the tissue mask
beside it. Resumable: ``<out>.done`` holds the number of canvases finished.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.windows import WINDOW, cut_windows, positions, tissue_windows
from core.training.pack_io import load_pack

FEATURES = 1024


def export_patch_backbone(stage1_weights: Path, onnx_path: Path) -> Path:
    """The stage-1 patch model (128x128 -> score, (4, 4, 1024) features) as ONNX."""
    import keras

    from core.training.model import build_patch_model

    keras.mixed_precision.set_dtype_policy("float32")
    model = build_patch_model(patch=WINDOW, dropout=0.2)
    model.load_weights(str(stage1_weights))
    model(np.zeros((1, WINDOW, WINDOW, 1), np.float32), training=False)
    model.export(str(onnx_path), format="onnx", verbose=False)
    return onnx_path


def masks_of(canvases: np.ndarray) -> np.ndarray:
    """(n, k*k) tissue masks of uint8 canvases."""
    return np.stack([tissue_windows(c, level=0.08 * 255) for c in canvases])


def extract_window_features(pack_dir: Path, stage1_weights: Path, out: Path, *,
                            batch: int = 32, log: Any = print) -> Path:
    import onnxruntime as ort

    index, canvases = load_pack(pack_dir / "index.json")
    canvas = int(index["canvas"])
    k = len(positions(canvas)) ** 2
    g = WINDOW // 32
    onnx_path = out.with_suffix(".backbone.onnx")
    if not onnx_path.is_file():
        export_patch_backbone(stage1_weights, onnx_path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    sess = ort.InferenceSession(str(onnx_path), sess_options=opts,
                                providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    feat_out = next(o.name for o in sess.get_outputs() if len(o.shape) == 4)
    n = len(canvases)
    masks = masks_of(canvases)
    np.save(out.with_suffix(".mask.npy"), masks)
    mode = "r+" if out.is_file() else "w+"
    feats = np.lib.format.open_memmap(out, mode=mode, dtype=np.float16,
                                      shape=(n, k, g, g, FEATURES))
    done_path = out.with_suffix(".done")
    done = int(done_path.read_text()) if done_path.is_file() and mode == "r+" else 0
    t0 = time.monotonic()
    run_windows = 0
    # Whole canvases per batch, so that the done counter stays exact.
    per_batch = max(1, batch // max(1, int(masks.sum(axis=1).mean())))
    for start in range(done, n, per_batch):
        stop = min(n, start + per_batch)
        wins, where = [], []
        for i in range(start, stop):
            w = cut_windows(canvases[i])
            sel = np.nonzero(masks[i])[0]
            wins.append(w[sel])
            where.extend((i, j) for j in sel)
        x = np.concatenate(wins)[..., None].astype(np.float32) / 255.0
        f = np.concatenate([sess.run([feat_out], {name: x[s:s + batch]})[0]
                            for s in range(0, len(x), batch)]).astype(np.float16)
        for (i, j), fi in zip(where, f, strict=True):
            feats[i, j] = fi
        run_windows += len(x)
        if (start // per_batch) % 20 == 0 or stop == n:
            feats.flush()
            done_path.write_text(str(stop))
            dt = time.monotonic() - t0
            log(f"window features {stop}/{n} canvases ({dt / max(1, stop - done):.2f} s per "
                f"canvas, {1000 * dt / max(1, run_windows):.1f} ms per window)")
    feats.flush()
    done_path.write_text(str(n))
    return out


def stage1_report_windows(pack_dir: Path, work: Path, feats_path: Path) -> dict[str, Any]:
    """What stage 1 alone learnt, on patients it never saw: patch AUC with its interval, its own
    heatmap (its linear head over the window cells, laid out as the app does) with the peak in
    the held-out lesion, and its zero-shot score on RSNA (never seen by stage 1)."""
    import keras

    from core.evaluation import summarise
    from core.inference.aggregate import aggregate
    from core.inference.classifier import heatmap_peak
    from core.inference.windows import assemble_map, window_logits
    from core.metrics import bootstrap_ci, roc_auc, wilson_interval
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
                           "patches": int(len(y)), "lesion_patches": int(y.sum()),
                           "layout": "windows 128, stride 64, breast-centred"}
    feats = np.load(feats_path, mmap_mode="r")
    masks = np.load(feats_path.with_suffix(".mask.npy"))
    canvas = int(index["canvas"])
    rows = index["samples"]
    for name in ("ddsm", "mias"):
        hits = total = 0
        for i, r in enumerate(rows):
            if r["dataset"] != name or r["fold"] >= 0 or not r["findings"]:
                continue
            cells = np.asarray(feats[i][masks[i]], np.float32) @ kernel[:, 0] + bias[0]
            px, py = heatmap_peak(assemble_map(cells, masks[i], canvas), canvas=canvas)
            total += 1
            hits += any(
                (abs(px - f["x"]) <= f["rx"] and abs(py - f["y"]) <= f["ry"]) if f.get("box")
                else ((px - f["x"]) / f["rx"]) ** 2 + ((py - f["y"]) / f["ry"]) ** 2 <= 1
                for f in r["findings"])
        if total:
            lo, hi = wilson_interval(hits, total)
            out[f"{name}_heldout_peak_inside"] = {"images": total, "peak_inside": hits,
                                                  "share": round(hits / total, 4),
                                                  "share_ci": [round(lo, 4), round(hi, 4)]}
    rsna = [i for i, r in enumerate(rows) if r["dataset"] == "rsna"]
    zr = []
    for i in rsna:
        cells = np.asarray(feats[i][masks[i]], np.float32) @ kernel[:, 0] + bias[0]
        zr.append(float(aggregate(window_logits(cells)[None, :], "max")[0]))
    yr = np.array([rows[i]["label"] for i in rsna])
    rep = summarise(yr, 1 / (1 + np.exp(-np.array(zr))), [rows[i]["patient_id"] for i in rsna],
                    threshold=0.5)
    out["rsna_transfer_zero_shot"] = {"images": len(rsna), "auc": rep["auc"],
                                      "auc_ci": rep["auc_ci"],
                                      "pooling": "max over windows of the stage-1 head"}
    return out
