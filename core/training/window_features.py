"""Stage-1 feature maps of every breast window of every pack canvas (model v2b, windows layout).

Each canvas is cut into 128x128 windows at a 64-pixel stride (:mod:`core.inference.windows`);
the windows centred on breast tissue are run through the stage-1 DenseNet121 with the engine
the app ships (ONNX Runtime) and their ``(4, 4, 1024)`` feature maps are kept in float16, in a
memory-mapped ``(n, k*k, 4, 4, 1024)`` array (zeros for windows not run) with the tissue mask
beside it. Resumable: ``<out>.done`` holds the number of canvases finished.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.windows import WINDOW, cut_windows, positions, tissue_windows
from core.training.pack_io import load_pack

FEATURES = 1024


def export_patch_backbone(stage1_weights: Path, onnx_path: Path, *, block5_input: bool = False
                          ) -> Path:
    """The stage-1 patch model (128x128 -> score, (4, 4, 1024) features) as ONNX; with
    ``block5_input``, a third output: the (4, 4, 512) input of its last dense block
    (:mod:`core.training.stage2_block5`)."""
    import keras

    from core.training.model import build_patch_model

    keras.mixed_precision.set_dtype_policy("float32")
    model = build_patch_model(patch=WINDOW, dropout=0.2)
    model.load_weights(str(stage1_weights))
    if block5_input:
        from core.training.stage2_block5 import BLOCK5_INPUT

        model = keras.Model(model.input, [*model.outputs, model.get_layer(BLOCK5_INPUT).output])
    model(np.zeros((1, WINDOW, WINDOW, 1), np.float32), training=False)
    model.export(str(onnx_path), format="onnx", verbose=False)
    return onnx_path


def masks_of(canvases: np.ndarray) -> np.ndarray:
    """(n, k*k) tissue masks of uint8 canvases."""
    return np.stack([tissue_windows(c, level=0.08 * 255) for c in canvases])


def extract_window_features(pack_dir: Path, stage1_weights: Path, out: Path, *,
                            batch: int = 32, block5_inputs: bool = False,
                            log: Any = print) -> Path:
    """With ``block5_inputs``, the (4, 4, 512) input of block 5 of every run window is kept
    too, in ``<out>.p4.npy`` (same layout), for :mod:`core.training.stage2_block5`."""
    from core.training.stage2 import feature_session

    index, canvases = load_pack(pack_dir / "index.json")
    canvas = int(index["canvas"])
    k = len(positions(canvas)) ** 2
    g = WINDOW // 32
    onnx_path = out.with_suffix(".backbone5.onnx" if block5_inputs else ".backbone.onnx")
    if not onnx_path.is_file():
        export_patch_backbone(stage1_weights, onnx_path, block5_input=block5_inputs)
    sess, name, feat_out = feature_session(onnx_path)
    wanted = [feat_out]
    if block5_inputs:
        maps = {o.shape[-1]: o.name for o in sess.get_outputs() if len(o.shape) == 4}
        wanted = [maps[FEATURES], maps[512]]
    n = len(canvases)
    masks = masks_of(canvases)
    np.save(out.with_suffix(".mask.npy"), masks)
    p4_path = out.with_suffix(".p4.npy")
    mode = "r+" if out.is_file() and (p4_path.is_file() or not block5_inputs) else "w+"
    feats = np.lib.format.open_memmap(out, mode=mode, dtype=np.float16,
                                      shape=(n, k, g, g, FEATURES))
    p4 = (np.lib.format.open_memmap(p4_path, mode=mode, dtype=np.float16,
                                    shape=(n, k, g, g, 512)) if block5_inputs else None)
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
        runs = [sess.run(wanted, {name: x[s:s + batch]}) for s in range(0, len(x), batch)]
        f = np.concatenate([r[0] for r in runs]).astype(np.float16)
        for (i, j), fi in zip(where, f, strict=True):
            feats[i, j] = fi
        if p4 is not None:
            q = np.concatenate([r[1] for r in runs]).astype(np.float16)
            for (i, j), qi in zip(where, q, strict=True):
                p4[i, j] = qi
        run_windows += len(x)
        if (start // per_batch) % 20 == 0 or stop == n:
            feats.flush()
            if p4 is not None:
                p4.flush()
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
    from core.evaluation import summarise
    from core.inference.aggregate import aggregate
    from core.inference.classifier import heatmap_peak
    from core.inference.windows import assemble_map, window_logits
    from core.training.stage2 import peak_in_finding, peak_share, stage1_patch_report

    index, out, kernel, bias = stage1_patch_report(pack_dir, work)
    out["layout"] = "windows 128, stride 64, breast-centred"
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
            hits += any(peak_in_finding(f, px, py) for f in r["findings"])
        if total:
            out[f"{name}_heldout_peak_inside"] = peak_share(hits, total)
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
