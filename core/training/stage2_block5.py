"""Stage 2 with the network's last dense block fine-tuned (windows layout; option).

With the backbone frozen, no stage-2 head lifted the RSNA ranking or the heatmap (docs/model.md):
the film-lesion features must learn the digital images. Fine-tuning the whole DenseNet121 over
every breast window does not fit 2 CPU cores, but its last dense block does: for a 128x128
window it runs on the 4x4x512 output of the fourth transition (``pool4_pool``), at a few percent
of the network's cost. So that output is cached once per breast window (next to the window
features, :func:`core.training.window_features.extract_window_features`), and block 5 (16 layers
and the final BatchNorm, BatchNorm statistics frozen) is trained together with the stage-2 cell
head on the same losses as the frozen-feature head (:mod:`core.training.stage2_windows`): the
image's cancer label through log-sum-exp pooling of the window logits, the window and cell
lesion losses on the located films and, if asked, the peak loss. Images in a batch have
different numbers of windows, so the windows of a batch are run as one tensor with a segment
id per image.

The trained block replaces stage 1's block 5 in the shipped graph (:func:`merge_block5`), and the
head is saved as :func:`core.training.stage2_windows.cell_weights` over the raw 1024 channels
(an identity projection), so the app reads the model as any windows-layout model.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.windows import STRIDE, WINDOW
from core.training import stage2_windows as s2

BLOCK5_INPUT = "pool4_pool"  # the patch model's layer whose output block 5 reads
FEATURES = 1024
DEFAULT_BLOCK5 = {"epochs": 5, "lr_block5": 1e-4, "lr_head": 1e-3, "batch_images": 8,
                  "lesion_weight": 1.0, "cell_weight": 1.0, "peak_weight": 1.0}


def build_block5(patch_model: Any = None) -> Any:
    """(4, 4, 512) -> (4, 4, 1024): DenseNet121's block 5 and final BatchNorm + ReLU, with the
    layer names of :func:`core.training.model.build_patch_model` (weights copied from
    ``patch_model`` when given). BatchNorm layers are frozen: their statistics stay stage 1's."""
    import keras
    from keras.src.applications.densenet import dense_block

    inp = keras.Input((4, 4, 512), name=BLOCK5_INPUT)
    x = dense_block(inp, 16, name="conv5")
    x = keras.layers.BatchNormalization(axis=3, epsilon=1.001e-5, name="bn")(x)
    x = keras.layers.Activation("relu", name="relu")(x)
    block = keras.Model(inp, x, name="block5")
    if patch_model is not None:
        copy_layers(patch_model, block.layers)
    for layer in block.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return block


def copy_layers(src: Any, layers: list[Any]) -> int:
    """Set each weighted layer of ``layers`` to the weights of the layer of the same name in
    the model ``src`` (which raises if it has none)."""
    weighted = [layer for layer in layers if layer.weights]
    for layer in weighted:
        layer.set_weights(src.get_layer(layer.name).get_weights())
    return len(weighted)


def merge_block5(stage1_weights: Path, block5_weights: Path, out: Path) -> Path:
    """Stage-1 weights with block 5 replaced by the fine-tuned one (for the shipped graph)."""
    import keras

    from core.training.model import build_patch_model

    keras.mixed_precision.set_dtype_policy("float32")
    patch = build_patch_model(patch=WINDOW, dropout=0.2)
    patch.load_weights(str(stage1_weights))
    block = build_block5()
    block.load_weights(str(block5_weights))
    copy_layers(block, [patch.get_layer(layer.name) for layer in block.layers if layer.weights])
    patch.save_weights(str(out))
    return out


def _segment_lse(v: Any, seg: Any, n: Any) -> Any:
    import tensorflow as tf

    m = tf.math.unsorted_segment_max(v, seg, n)
    return m + tf.math.log(tf.math.unsorted_segment_sum(tf.exp(v - tf.gather(m, seg)), seg, n))


def _bce(z: Any, t: Any) -> Any:
    import tensorflow as tf

    return tf.maximum(z, 0.0) - z * t + tf.math.log1p(tf.exp(-tf.abs(z)))


def batch_losses(z: Any, seg: Any, n: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """(image loss, lesion losses) of one batch. ``z``: (N, 4, 4) cell logits of the N run
    windows of the batch's images, ``seg``: (N,) image of each window. The image logit pools
    the window logits (their cell means) by log-mean-exp, r = 4, as the frozen-feature head."""
    import tensorflow as tf

    r = s2.TRAIN_POOL_R
    nf = tf.cast(n, tf.float32)
    wl = tf.reduce_mean(z, axis=(1, 2))
    count = tf.math.unsorted_segment_sum(tf.ones_like(wl), seg, n)
    image = (_segment_lse(r * wl, seg, n) - tf.math.log(count)) / r
    l_image = tf.reduce_sum(batch["image_weight"] * _bce(image, batch["label"])) / nf

    def per_image(loss: Any, weight: Any) -> Any:
        return (tf.math.unsorted_segment_sum(loss, seg, n)
                / tf.maximum(tf.math.unsorted_segment_sum(weight, seg, n), 1.0))

    tw, ww = batch["window_target"], batch["window_weight"]
    l_window = per_image(ww * _bce(wl, tw), ww)
    cz = tf.reshape(z, (-1, 16))
    ct = tf.reshape(batch["cell_target"], (-1, 16))
    cw = tf.reshape(batch["cell_weight"], (-1, 16))
    l_cell = per_image(tf.reduce_sum(cw * _bce(cz, ct), axis=1), tf.reduce_sum(cw, axis=1))
    cseg = tf.repeat(seg, 16)
    flat, ft = tf.reshape(cz, (-1,)), tf.reshape(ct, (-1,))
    every = _segment_lse(flat, cseg, n)
    lesion = _segment_lse(tf.where(ft > 0, flat, -1e4), cseg, n)
    has = tf.cast(tf.math.unsorted_segment_max(ft, cseg, n) > 0, tf.float32)
    l_peak = has * (every - tf.minimum(lesion, every))
    located = batch["located"]
    w = batch["weights"]
    l_lesion = tf.reduce_sum(located * (w[0] * l_window + w[1] * l_cell + w[2] * l_peak)) / nf
    return l_image, l_lesion


class Block5Model:
    """Block 5 + the cell head (``FEATURES -> HIDDEN (ReLU, dropout) -> 1``)."""

    def __init__(self, patch_model: Any, seed: int) -> None:
        import keras

        keras.utils.set_random_seed(seed)
        self.block = build_block5(patch_model)
        reg = keras.regularizers.L2(1e-4)
        self.hidden = keras.layers.Dense(s2.HIDDEN, activation="relu", kernel_regularizer=reg)
        self.out = keras.layers.Dense(1, kernel_regularizer=reg)
        self.drop = keras.layers.Dropout(0.3)
        self.hidden.build((None, FEATURES))
        self.out.build((None, s2.HIDDEN))

    def cells(self, x: Any, *, training: bool) -> Any:
        h = self.hidden(self.block(x, training=training))
        return self.out(self.drop(h, training=training))[..., 0]

    def head_weights(self) -> dict[str, np.ndarray]:
        wh, bh = self.hidden.get_weights()
        wo, bo = self.out.get_weights()
        return {"w_hidden": wh, "b_hidden": bh, "w_out": wo[:, 0], "b_out": np.float32(bo[0])}


def _batch(p4: np.ndarray, masks: np.ndarray, arrays: tuple, image_weight: np.ndarray,
           rows: np.ndarray, weights: tuple[float, float, float]) -> dict[str, Any]:
    import tensorflow as tf

    y, _, tw, located, tc = arrays
    runs = [np.nonzero(masks[i])[0] for i in rows]
    cat = np.concatenate
    return {k: tf.constant(v) for k, v in {
        "x": cat([np.asarray(p4[i, r], np.float32) for i, r in zip(rows, runs, strict=True)]),
        "seg": cat([np.full(len(r), j, np.int32) for j, r in enumerate(runs)]),
        "n": np.int32(len(rows)),
        "label": y[rows], "image_weight": image_weight[rows], "located": located[rows],
        "window_target": cat([tw[i, r, 0] for i, r in zip(rows, runs, strict=True)]),
        "window_weight": cat([tw[i, r, 1] for i, r in zip(rows, runs, strict=True)]),
        "cell_target": cat([tc[i, r, ..., 0] for i, r in zip(rows, runs, strict=True)]),
        "cell_weight": cat([tc[i, r, ..., 1] for i, r in zip(rows, runs, strict=True)]),
        "weights": np.array(weights, np.float32)}.items()}


def fit_block5(patch_model: Any, p4: np.ndarray, masks: np.ndarray, idx: np.ndarray,
               arrays: tuple, recipe: dict[str, Any], *, seed: int, log: Any = print
               ) -> Block5Model:
    """Block 5 and the head trained on the images ``idx`` (AdamW with a warm-up for the block,
    Adam for the head, both cosine; image classes balanced as in the frozen-feature head)."""
    import keras
    import tensorflow as tf

    keras.mixed_precision.set_dtype_policy("float32")
    recipe = {**DEFAULT_BLOCK5, **recipe}
    model = Block5Model(patch_model, seed)
    y, w = arrays[0], arrays[1]
    wi = s2.balanced_image_weights(y, w, idx)
    b = int(recipe["batch_images"])
    steps = max(1, int(recipe["epochs"]) * math.ceil(len(idx) / b))
    warm = min(100, steps // 10)
    opt_block = keras.optimizers.AdamW(
        keras.optimizers.schedules.CosineDecay(
            0.0, max(1, steps - warm), alpha=0.05, warmup_target=recipe["lr_block5"],
            warmup_steps=warm),
        weight_decay=0.05, global_clipnorm=1.0)
    opt_head = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(recipe["lr_head"], steps, alpha=0.05))
    block_vars = model.block.trainable_variables
    head_vars = model.hidden.trainable_variables + model.out.trainable_variables

    @tf.function(reduce_retracing=True)
    def step(batch: dict[str, Any]) -> tuple[Any, Any]:
        with tf.GradientTape(persistent=True) as tape:
            z = model.cells(batch["x"], training=True)
            l_image, l_lesion = batch_losses(z, batch["seg"], batch["n"], batch)
            loss = l_image + l_lesion + tf.add_n(model.hidden.losses + model.out.losses)
        opt_block.apply_gradients(zip(tape.gradient(loss, block_vars), block_vars, strict=True))
        opt_head.apply_gradients(zip(tape.gradient(loss, head_vars), head_vars, strict=True))
        return l_image, l_lesion

    weights = (recipe["lesion_weight"], recipe["cell_weight"], recipe["peak_weight"])
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    for epoch in range(int(recipe["epochs"])):
        order = rng.permutation(idx)
        sums = np.zeros(2)
        for s in range(0, len(order), b):
            out = step(_batch(p4, masks, arrays, wi, np.sort(order[s:s + b]), weights))
            sums += [float(v) for v in out]
        n = math.ceil(len(order) / b)
        log(f"block 5, epoch {epoch + 1}: image loss {sums[0] / n:.4f}, lesion losses "
            f"{sums[1] / n:.4f} ({time.monotonic() - t0:.0f} s)")
    return model


def predict_cells_block5(model: Block5Model, p4: np.ndarray, masks: np.ndarray,
                         idx: np.ndarray, *, images: int = 16) -> np.ndarray:
    """Cell logits ``(len(idx), k, 4, 4)`` (zeros for windows not run), inference mode."""
    import tensorflow as tf

    run = tf.function(lambda x: model.cells(x, training=False), reduce_retracing=True)
    out = np.zeros((len(idx), masks.shape[1], 4, 4), np.float32)
    for s in range(0, len(idx), images):
        chunk = idx[s:s + images]
        runs = [np.nonzero(masks[i])[0] for i in chunk]
        z = run(tf.constant(np.concatenate([np.asarray(p4[i, r], np.float32)
                                            for i, r in zip(chunk, runs, strict=True)])))
        z = np.asarray(z)
        o = 0
        for j, r in enumerate(runs):
            out[s + j, r] = z[o:o + len(r)]
            o += len(r)
    return out


def cross_validate_block5(pack_dir: Path, work: Path, *, recipe: dict[str, Any] | None = None,
                          groups: list[list[int]] | None = None, seed: int = 0,
                          log: Any = print) -> dict[str, Any]:
    """Out-of-fold predictions (the development folds in ``groups``; each group scored by the
    model trained on the others), then block 5 and the head on every development patient;
    writes ``stage2_results.json``, ``stage2_head.npz``, an identity ``stage2_pca.npz`` and
    ``stage2_block5.weights.h5``."""
    import keras

    from core.training.model import build_patch_model

    recipe = {**DEFAULT_BLOCK5, **(recipe or {})}
    t0 = time.monotonic()
    index = json.loads((pack_dir / "index.json").read_text())
    rows = index["samples"]
    canvas = int(index["canvas"])
    masks = np.load(work / "wfeats.mask.npy")
    p4 = np.load(work / "wfeats.p4.npy", mmap_mode="r")
    arrays = s2.training_arrays(index, masks)
    folds = np.array([r["fold"] for r in rows])
    dev = np.nonzero(folds >= 0)[0]
    groups = groups or [[k] for k in sorted(set(folds[dev].tolist()))]
    keras.mixed_precision.set_dtype_policy("float32")
    patch = build_patch_model(patch=WINDOW, dropout=0.2)
    patch.load_weights(str(work / "stage1.weights.h5"))
    predictions: dict[str, Any] = {}
    for g, group in enumerate(groups):
        val = np.nonzero(np.isin(folds, group))[0]
        train = np.setdiff1d(dev, val)
        model = fit_block5(patch, p4, masks, train, arrays, recipe, seed=seed + g, log=log)
        for i, c in zip(val, predict_cells_block5(model, p4, masks, val), strict=True):
            predictions[rows[i]["key"]] = {"source": "oof", "fold": int(folds[i]),
                                           **s2.image_outputs(c, masks[i], canvas)}
        log(f"block 5 + head, folds {group} out of fold ({time.monotonic() - t0:.0f} s)")
    # The out-of-fold predictions are kept before the final run (a long one on a CPU).
    (work / "stage2_oof.json").write_text(json.dumps(predictions))
    final = fit_block5(patch, p4, masks, dev, arrays, recipe, seed=seed + 100, log=log)
    final.block.save_weights(str(work / "stage2_block5.weights.h5"))
    np.savez(work / "stage2_head.npz", **final.head_weights())
    np.savez(work / "stage2_pca.npz", mean=np.zeros(FEATURES, np.float32),
             components=np.eye(FEATURES, dtype=np.float32))
    results = {"recipe": "two-stage", "layout": "windows", "window": WINDOW, "stride": STRIDE,
               **recipe, "block5": True, "hidden": s2.HIDDEN, "pca_dims": None,
               "lesion_hidden": 0, "members": 1, "seed": seed,
               "seconds": round(time.monotonic() - t0), "cv_folds": len(groups),
               "cv_groups": groups, "predictions": predictions}
    (work / "stage2_results.json").write_text(json.dumps(results))
    return results


__all__ = ["BLOCK5_INPUT", "Block5Model", "DEFAULT_BLOCK5", "batch_losses", "build_block5",
           "copy_layers", "cross_validate_block5", "fit_block5", "merge_block5",
           "predict_cells_block5"]
