"""Stage 2 over overlapping windows (model v2b): the cancer head on cached stage-1 window maps.

Every breast window (128x128, stride 64; :mod:`core.inference.windows`) of every canvas has its
stage-1 ``(4, 4, 1024)`` feature map cached (:mod:`core.training.window_features`). The head is
applied per cell: ``1024 -> HIDDEN (ReLU) -> 1`` gives 16 cell logits per window; a window's
logit is their mean (the stage-1 patch score's own form) and the image logit pools the window
logits (log-sum-exp, r = 4, while training). The app lays the cell logits back onto the canvas
for the heatmap (:func:`core.inference.windows.assemble_map`).

Losses, as in the whole-canvas stage 2: the image's cancer label (RSNA, mini-MIAS; DDSM images
are never image-level positives) and a lesion loss per window on the located films: a window
whose central 64x64 holds a finding's centre is a lesion window, one clear of every finding box
is tissue, the rest are not scored; and a lesion loss per cell.

Options measured on development folds (``docs/model.md``) and left off by default: a separate
lesion branch (``lesion_hidden``, :func:`build_head`) and the mean of several heads
(``members``). Either way the trained head is saved as one hidden layer and one read-out
(:func:`cell_weights`, ``stage2_head.npz``), which the shipped graph takes as it is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.aggregate import METHODS, aggregate
from core.inference.windows import (
    EDGE_WEIGHT,
    STRIDE,
    WINDOW,
    assemble_map,
    positions,
    window_logits,
)

HIDDEN = 32
PCA_DIMS = 256
TRAIN_POOL_R = 4.0
MARGIN = 8.0  # canvas pixels a tissue window keeps clear of a finding box


def window_targets(row: dict[str, Any], mask: np.ndarray, canvas: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(target, weight) over the k*k windows of a located film (zeros for other images).
    Lesion windows are weighted up to count as much as the tissue windows of their image."""
    pos = positions(canvas)
    k = len(pos) ** 2
    target = np.zeros(k, np.float32)
    weight = np.zeros(k, np.float32)
    if not row["findings"]:
        return target, weight
    half = WINDOW / 2
    core_half = STRIDE / 2
    for j, (y, x) in enumerate((y, x) for y in pos for x in pos):
        if not mask[j]:
            continue
        cx, cy = x + half, y + half
        lesion = any(abs(f["x"] - cx) <= core_half and abs(f["y"] - cy) <= core_half
                     for f in row["findings"])
        clear = all(f["x"] + f["rx"] + MARGIN < x or f["x"] - f["rx"] - MARGIN > x + WINDOW
                    or f["y"] + f["ry"] + MARGIN < y or f["y"] - f["ry"] - MARGIN > y + WINDOW
                    for f in row["findings"])
        if lesion:
            target[j], weight[j] = 1.0, 1.0
        elif clear:
            weight[j] = 1.0
    n_pos, n_neg = int((target > 0).sum()), int(((weight > 0) & (target == 0)).sum())
    if n_pos:
        weight[target > 0] = min(20.0, max(1.0, n_neg / n_pos))
    return target, weight


def fit_pca(feats: np.ndarray, masks: np.ndarray, rows: np.ndarray, *, dims: int = PCA_DIMS,
            cells: int = 40_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean (1024,), components (1024, dims)) of the cell features of breast windows of
    ``rows`` (development images only; no label is used)."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(rows, size=min(len(rows), max(1, cells // 16)), replace=False)
    sample = []
    for i in np.sort(pick):
        run = np.nonzero(masks[i])[0]
        j = run[rng.integers(len(run))]
        sample.append(np.asarray(feats[i, j], np.float32).reshape(-1, feats.shape[-1]))
    x = np.concatenate(sample)
    mean = x.mean(axis=0)
    cov = np.cov(x - mean, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:dims]
    return mean.astype(np.float32), vecs[:, order].astype(np.float32)


def project(feats: np.ndarray, mean: np.ndarray, comps: np.ndarray, out: Path,
            chunk: int = 64) -> np.ndarray:
    """Every window cell projected on the components, float16 ``(n, k, 4, 4, dims)``."""
    n, k, a, b, _ = feats.shape
    proj = np.lib.format.open_memmap(out, mode="w+", dtype=np.float16,
                                     shape=(n, k, a, b, comps.shape[1]))
    for s in range(0, n, chunk):
        x = np.asarray(feats[s:s + chunk], np.float32)
        proj[s:s + chunk] = ((x - mean) @ comps).astype(np.float16)
    proj.flush()
    return proj


def window_cell_targets(findings: list[dict[str, Any]], x0: float, y0: float, *,
                        cells: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(target, weight) ``(cells, cells)`` of the window whose top-left corner is (x0, y0):
    1 where a cell's centre lies in a finding's box, 0 where the cell is clear of every box by
    a cell, not scored in between; lesion cells count as much as the rest."""
    size = WINDOW // cells
    offs = (np.arange(cells) + 0.5) * size
    cy, cx = np.meshgrid(y0 + offs, x0 + offs, indexing="ij")
    inside = np.zeros((cells, cells), bool)
    near = np.zeros((cells, cells), bool)
    for f in findings:
        dx, dy = np.abs(cx - f["x"]), np.abs(cy - f["y"])
        inside |= (dx <= f["rx"]) & (dy <= f["ry"])
        near |= (dx <= f["rx"] + size) & (dy <= f["ry"] + size)
    return inside.astype(np.float32), (inside | ~near).astype(np.float32)


def cell_targets(row: dict[str, Any], mask: np.ndarray, canvas: int, *, cells: int = 4
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(target, weight) ``(k*k, cells, cells)`` over every cell of every run window of a
    located film (:func:`window_cell_targets`); lesion cells are weighted up to count as much
    as the rest of the image."""
    pos = positions(canvas)
    target = np.zeros((len(pos) ** 2, cells, cells), np.float32)
    weight = np.zeros_like(target)
    if not row["findings"]:
        return target, weight
    for j, (y, x) in enumerate((y, x) for y in pos for x in pos):
        if mask[j]:
            target[j], weight[j] = window_cell_targets(row["findings"], x, y, cells=cells)
    n_pos = target.sum()
    n_neg = ((weight > 0) & (target == 0)).sum()
    if n_pos:
        weight[target > 0] = min(50.0, max(1.0, n_neg / n_pos))
    return target, weight


def build_head(k: int, *, dims: int = PCA_DIMS, hidden: int = HIDDEN, l2: float = 1e-4,
               dropout: float = 0.3, lesion_hidden: int = 0) -> Any:
    """(k, 4, 4, dims) window maps + (k,) mask -> {"image": logit (1,), "windows": (k,),
    "cells": (k, 4, 4), "peak": the same cell logits, for :func:`_peak_loss`}.

    With ``lesion_hidden`` = 0, one branch ``dims -> hidden (ReLU) -> 1`` gives the cell logit,
    which every loss trains. With ``lesion_hidden`` > 0 a second, lesion branch
    ``dims -> lesion_hidden (ReLU) -> 1`` is added: the lesion losses ("windows", "cells")
    train it alone, the image loss trains the cancer branch alone (the lesion logit enters the
    image logit with its gradient stopped), and the cell logit is the sum of both. Pooled by
    log-sum-exp, ``log sum exp(cancer + lesion)`` weighs every cell's cancer evidence by how
    much it looks like a lesion: attention pooling, in one cell logit that the shipped graph
    still computes as one hidden layer and one linear read-out (:func:`cell_weights`)."""
    import keras
    from keras import ops

    feats = keras.Input((k, 4, 4, dims), name="features")
    mask = keras.Input((k,), name="mask")
    reg = keras.regularizers.L2(l2)
    h = keras.layers.Dense(hidden, activation="relu", name="hidden", kernel_regularizer=reg)(feats)
    h = keras.layers.Dropout(dropout)(h)
    cell = keras.layers.Dense(1, name="cam_conv", kernel_regularizer=reg)(h)
    lesion = cell
    if lesion_hidden:
        hl = keras.layers.Dense(lesion_hidden, activation="relu", name="hidden_lesion",
                                kernel_regularizer=reg)(feats)
        hl = keras.layers.Dropout(dropout)(hl)
        lesion = keras.layers.Dense(1, name="lesion_conv", kernel_regularizer=reg)(hl)
        held = keras.layers.Lambda(ops.stop_gradient, name="lesion_held")(lesion)
        cell = keras.layers.Add(name="cell_sum")([cell, held])
    win = keras.layers.Lambda(lambda t: ops.mean(t, axis=(2, 3, 4)), name="image_windows")(cell)
    r = TRAIN_POOL_R

    def pool(args: list[Any]) -> Any:
        z, m = args
        z = r * z + (m - 1.0) * 1e4  # windows not run drop out of the pooling
        return (ops.logsumexp(z, axis=1, keepdims=True)
                - ops.log(ops.maximum(ops.sum(m, axis=1, keepdims=True), 1.0))) / r

    image = keras.layers.Lambda(pool, name="image")([win, mask])
    windows = keras.layers.Lambda(lambda t: ops.mean(t, axis=(2, 3, 4)), name="windows")(lesion)
    cells = keras.layers.Reshape((k, 4, 4), name="cells")(lesion)
    peak = keras.layers.Identity(name="peak")(cells)
    return keras.Model([feats, mask], {"image": image, "windows": windows, "cells": cells,
                                       "peak": peak})


def cell_weights(models: list[Any]) -> dict[str, np.ndarray]:
    """The cell logit of one head, or the mean of several, as one hidden layer and one linear
    read-out: ``relu(x @ w_hidden + b_hidden) @ w_out + b_out``. Branches and ensemble members
    are stacked side by side in the hidden layer."""
    w_h, b_h, w_o, b_o = [], [], [], 0.0
    for m in models:
        for hid, out in (("hidden", "cam_conv"), ("hidden_lesion", "lesion_conv")):
            if out not in {layer.name for layer in m.layers}:
                continue
            wh, bh = m.get_layer(hid).get_weights()
            wo, bo = m.get_layer(out).get_weights()
            w_h.append(wh)
            b_h.append(bh)
            w_o.append(wo[:, 0] / len(models))
            b_o += float(bo[0]) / len(models)
    return {"w_hidden": np.concatenate(w_h, axis=1), "b_hidden": np.concatenate(b_h),
            "w_out": np.concatenate(w_o), "b_out": np.float32(b_o)}


def _window_loss(y_true: Any, y_pred: Any) -> Any:
    from keras import ops

    target, weight = y_true[..., 0], y_true[..., 1]
    bce = ops.maximum(y_pred, 0) - y_pred * target + ops.log1p(ops.exp(-ops.abs(y_pred)))
    axes = tuple(range(1, len(y_pred.shape)))
    return ops.sum(weight * bce, axis=axes) / ops.maximum(ops.sum(weight, axis=axes), 1.0)


def _peak_loss(y_true: Any, y_pred: Any) -> Any:
    """Where the heatmap peaks, as a classification over the image's cells: minus the log of
    the softmax mass, over every cell of the run windows, that falls on cells inside a
    finding's box (``log sum exp`` over all cells minus over the lesion cells). Unlike the
    per-cell loss, it compares the cells of one image with each other, which is what the
    peak does. ``y_true[..., 0]``: lesion cell; ``[..., 1]``: cell of a run window. Images
    without a lesion cell give 0."""
    from keras import ops

    target, run = y_true[..., 0], y_true[..., 1]
    m = int(np.prod(y_pred.shape[1:]))
    z, t, v = (ops.reshape(a, (-1, m)) for a in (y_pred, target, run))
    has = ops.cast(ops.max(t, axis=1) > 0, z.dtype)
    every = ops.logsumexp(ops.where(v > 0, z, -1e4), axis=1)
    lesion = ops.logsumexp(ops.where(t > 0, z, -1e4), axis=1)
    return has * (every - ops.minimum(lesion, every))


def training_arrays(index: dict[str, Any], masks: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image label, image weight, window targets+weights (n, k, 2), lesion-loss weight,
    cell targets+weights (n, k, 4, 4, 2))."""
    rows = index["samples"]
    canvas = int(index["canvas"])
    y = np.array([r["label"] if r["dataset"] != "ddsm" else 0 for r in rows], np.float32)
    w = np.array([r["dataset"] != "ddsm" for r in rows], np.float32)
    tw = np.zeros((len(rows), masks.shape[1], 2), np.float32)
    tc = np.zeros((len(rows), masks.shape[1], 4, 4, 2), np.float32)
    located = np.zeros(len(rows), np.float32)
    for i, r in enumerate(rows):
        if r["findings"]:
            tw[i, :, 0], tw[i, :, 1] = window_targets(r, masks[i], canvas)
            tc[i, ..., 0], tc[i, ..., 1] = cell_targets(r, masks[i], canvas)
            located[i] = 1.0
    return y, w, tw, located, tc


def _batches(feats: np.ndarray, masks: np.ndarray, idx: np.ndarray, targets: dict,
             weights: dict, batch_size: int, rng: np.random.Generator) -> Any:
    """Shuffled batches read from the memory-mapped window maps (float16 on disk, float32
    out); a new order every epoch."""
    import keras

    class Batches(keras.utils.PyDataset):
        order = rng.permutation(idx)

        def __len__(self) -> int:
            return int(np.ceil(len(self.order) / batch_size))

        def __getitem__(self, b: int) -> Any:
            sel = np.sort(self.order[b * batch_size:(b + 1) * batch_size])
            x = {"features": np.asarray(feats[sel], np.float32), "mask": masks[sel]}
            return (x, {k: v[sel] for k, v in targets.items()},
                    {k: v[sel] for k, v in weights.items()})

        def on_epoch_end(self) -> None:
            self.order = rng.permutation(idx)

    return Batches()


def balanced_image_weights(y: np.ndarray, w: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The image-loss weights ``w`` with the images ``idx`` of each class (among those with a
    weight) sharing half of their total weight."""
    wi = w.copy()
    sel = np.zeros(len(w), bool)
    sel[idx] = True
    pos, neg = sel & (y == 1) & (w > 0), sel & (y == 0) & (w > 0)
    if pos.any() and neg.any():
        total = wi[sel].sum()
        wi[pos] *= 0.5 * total / pos.sum()
        wi[neg] *= 0.5 * total / neg.sum()
    return wi


def fit_head(feats: np.ndarray, masks: np.ndarray, idx: np.ndarray, arrays: tuple, *,
             epochs: int, seed: int, lesion_weight: float, cell_weight: float = 0.0,
             peak_weight: float = 0.0, lesion_hidden: int = 0, batch_size: int = 32) -> Any:
    import keras

    keras.mixed_precision.set_dtype_policy("float32")  # whatever an earlier step left set
    keras.utils.set_random_seed(seed)
    y, w, tw, located, tc = arrays
    model = build_head(masks.shape[1], dims=feats.shape[-1], lesion_hidden=lesion_hidden)
    wi = balanced_image_weights(y, w, idx)
    steps = epochs * int(np.ceil(len(idx) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss={"image": keras.losses.BinaryCrossentropy(from_logits=True),
                        "windows": _window_loss, "cells": _window_loss, "peak": _peak_loss},
                  loss_weights={"image": 1.0, "windows": lesion_weight, "cells": cell_weight,
                                "peak": peak_weight})
    run = np.broadcast_to(masks[:, :, None, None], tc.shape[:-1]).astype(np.float32)
    tp = np.stack([tc[..., 0], run], axis=-1)
    data = _batches(feats, masks.astype(np.float32), idx,
                    {"image": y[:, None], "windows": tw, "cells": tc, "peak": tp},
                    {"image": wi, "windows": located, "cells": located, "peak": located},
                    batch_size, np.random.default_rng(seed))
    model.fit(data, epochs=epochs, verbose=0)
    return model


def predict_cells(weights: dict[str, np.ndarray], feats: np.ndarray, idx: np.ndarray
                  ) -> np.ndarray:
    """Cell logits ``(len(idx), k, 4, 4)`` of :func:`cell_weights` over the cached maps (the
    arithmetic of the shipped graph's hidden layer and read-out)."""
    out = []
    for s in range(0, len(idx), 64):
        x = np.asarray(feats[idx[s:s + 64]], np.float32)
        h = np.maximum(x @ weights["w_hidden"] + weights["b_hidden"], 0)
        out.append(h @ weights["w_out"] + weights["b_out"])
    return np.concatenate(out)


def image_outputs(cells: np.ndarray, mask: np.ndarray, canvas: int) -> dict[str, Any]:
    """What the app computes from one image's window cell logits: the pooled logits by every
    method and the heatmap's peak (canvas pixels)."""
    from core.inference.classifier import heatmap_peak

    run = cells[mask]
    logits = window_logits(run)
    full = assemble_map(run, mask, canvas, edge_weight=EDGE_WEIGHT)
    x, y = heatmap_peak(full, canvas=canvas)
    return {"map_logits": {m: float(aggregate(logits[None, :], m)[0]) for m in METHODS},
            "peak": [round(x, 1), round(y, 1)]}


DEFAULT_RECIPE = {"epochs": 20, "lesion_weight": 1.0, "cell_weight": 1.0, "peak_weight": 0.0,
                  "lesion_hidden": 0, "members": 1}


def fit_members(feats: np.ndarray, masks: np.ndarray, idx: np.ndarray, arrays: tuple,
                recipe: dict[str, Any], seed: int) -> dict[str, np.ndarray]:
    """``recipe["members"]`` heads (seeds ``seed``, ``seed + 1000``, ...), as one
    :func:`cell_weights`."""
    models = [fit_head(feats, masks, idx, arrays, epochs=recipe["epochs"], seed=seed + 1000 * m,
                       lesion_weight=recipe["lesion_weight"], cell_weight=recipe["cell_weight"],
                       peak_weight=recipe.get("peak_weight", 0.0),
                       lesion_hidden=recipe["lesion_hidden"])
              for m in range(recipe["members"])]
    return cell_weights(models)


def projected_features(feats_path: Path, work: Path, masks: np.ndarray, dev: np.ndarray, *,
                       seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, components, projected features): the 1024 stage-1 channels on their first
    principal components (fitted on development images, no label), a quarter of the reading
    and arithmetic per epoch. The projection is linear, so the shipped graph folds it into the
    hidden layer. Reused when it is newer than the features."""
    pca, out = work / "stage2_pca.npz", work / "wfeats_pca.npy"
    if pca.is_file() and out.is_file() and pca.stat().st_mtime > feats_path.stat().st_mtime:
        z = np.load(pca)
        return z["mean"], z["components"], np.load(out, mmap_mode="r")
    raw = np.load(feats_path, mmap_mode="r")
    mean, comps = fit_pca(raw, masks, dev, seed=seed)
    feats = project(raw, mean, comps, out)
    np.savez(pca, mean=mean, components=comps)
    return mean, comps, feats


def out_of_fold(index: dict[str, Any], feats: np.ndarray, masks: np.ndarray, arrays: tuple,
                recipe: dict[str, Any], *, seed: int, log: Any = print) -> dict[str, Any]:
    """Every development image scored by the head trained on the other folds."""
    t0 = time.monotonic()
    canvas = int(index["canvas"])
    folds = np.array([r["fold"] for r in index["samples"]])
    predictions: dict[str, Any] = {}
    for k in sorted(set(folds[folds >= 0].tolist())):
        train_idx = np.nonzero((folds >= 0) & (folds != k))[0]
        val_idx = np.nonzero(folds == k)[0]
        weights = fit_members(feats, masks, train_idx, arrays, recipe, seed + k)
        for i, c in zip(val_idx, predict_cells(weights, feats, val_idx), strict=True):
            r = index["samples"][i]
            predictions[r["key"]] = {"source": "oof", "fold": int(folds[i]),
                                     **image_outputs(c, masks[i], canvas)}
        log(f"stage 2 (windows) fold {k}: {len(train_idx)} train, {len(val_idx)} out of fold "
            f"({time.monotonic() - t0:.0f} s)")
    return predictions


def cross_validate(pack_dir: Path, feats_path: Path, work: Path, *,
                   recipe: dict[str, Any] | None = None, seed: int = 0, log: Any = print
                   ) -> dict[str, Any]:
    """Out-of-fold window maps of every development image, then the final head on all
    development patients; writes ``stage2_results.json`` and ``stage2_head.npz`` (the
    :func:`cell_weights` the shipped graph is built from)."""
    recipe = {**DEFAULT_RECIPE, **(recipe or {})}
    t0 = time.monotonic()
    index = json.loads((pack_dir / "index.json").read_text())
    masks = np.load(feats_path.with_suffix(".mask.npy"))
    arrays = training_arrays(index, masks)
    folds = np.array([r["fold"] for r in index["samples"]])
    dev_idx = np.nonzero(folds >= 0)[0]
    _, comps, feats = projected_features(feats_path, work, masks, dev_idx, seed=seed)
    log(f"projected on {comps.shape[1]} components ({time.monotonic() - t0:.0f} s)")
    predictions = out_of_fold(index, feats, masks, arrays, recipe, seed=seed, log=log)
    final = fit_members(feats, masks, dev_idx, arrays, recipe, seed + 100)
    np.savez(work / "stage2_head.npz", **final)
    results = {"recipe": "two-stage", "layout": "windows", "window": WINDOW, "stride": STRIDE,
               **recipe, "hidden": HIDDEN, "pca_dims": int(comps.shape[1]),
               "seed": seed, "seconds": round(time.monotonic() - t0),
               "cv_folds": int(folds.max()) + 1, "predictions": predictions}
    (work / "stage2_results.json").write_text(json.dumps(results))
    return results
