"""Gates to pass before a long training run, so that a run at chance says something.

(a) memorise: 32 patches (16 lesion, 16 tissue) learnt without augmentation or weight decay;
    the train-mode loss must fall below 0.15 (the network and the plumbing can fit).
(b) synthetic signal: a faint Gaussian blob pasted into half of ~200 breast patches of
    digital images, learnt with the full augmentation; the AUC on held-out patches must
    exceed 0.9 (the training recipe can find a small, faint, local signal).
(c) shortcut baselines on the pack's own split (RSNA, held-out patients): AUC of trivial
    intensity statistics and of a linear probe on a 32x32 thumbnail, the figures any model
    must beat.

BatchNorm's moving statistics lag far behind after a few hundred steps (momentum 0.99), so
every eval-mode figure here is taken after the statistics are recomputed on the training
patches (:func:`recompute_batchnorm`).

``python -m core.training.gates --pack PACK --out gates.json``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.metrics import roc_auc
from core.training.model import training_precision

MEMORISE_LOSS = 0.15
SYNTHETIC_AUC = 0.9


def recompute_batchnorm(model: Any, x: np.ndarray, *, batch: int = 32) -> None:
    """Set every BatchNormalization layer's moving mean and variance to the statistics of
    ``x`` (the cumulative average over batches, as momentum -> 0 would give)."""
    import keras

    bns = [layer for layer in model._flatten_layers() if
           isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in bns]
    for layer in bns:
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, np.float32))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape, np.float32))
    for n, s in enumerate(range(0, len(x), batch), start=1):
        for layer in bns:
            layer.momentum = 1.0 - 1.0 / n  # running mean of the batch statistics
        model(x[s:s + batch], training=True)
    for layer, m in zip(bns, saved, strict=True):
        layer.momentum = m


def _patch_sets(pack: Path, seed: int) -> tuple[dict[str, Any], np.ndarray]:
    from core.training.pack_io import load_pack

    return load_pack(pack / "index.json")


def gate_memorise(index: dict[str, Any], canvases: np.ndarray, *, seed: int,
                  steps: int = 200) -> dict[str, Any]:
    import keras

    from core.training.model import build_patch_model, logit_submodel
    from core.training.stage1 import film_rows, sample_patches

    located, normals = film_rows(index, test=False)
    rng = np.random.default_rng(seed)
    x, y = sample_patches(index, canvases, located=located[:40], normals=normals[:40], rng=rng,
                          neg_per_lesion=1, augment=False)
    pos, neg = np.nonzero(y == 1)[0][:16], np.nonzero(y == 0)[0][:16]
    # Mixed batches: with single-class batches BatchNorm's batch statistics would hide the
    # class from the network in train mode (a first version of this gate did exactly that).
    keep = rng.permutation(np.concatenate([pos, neg]))
    x, y = x[keep].astype(np.float32) / 255.0, y[keep]
    model = logit_submodel(build_patch_model(dropout=0.0))
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    t0 = time.monotonic()
    losses = []
    batch = 8
    for step in range(steps):
        i = np.arange(step * batch, step * batch + batch) % len(x)
        model.train_on_batch(x[i], y[i])
        if (step + 1) % 20 == 0:
            # Train mode over the very batches it learnt from (BatchNorm normalises each
            # batch by its own statistics, so another grouping is another function).
            logits = np.concatenate([np.asarray(model(x[b:b + batch], training=True))[:, 0]
                                     for b in range(0, len(x), batch)])
            loss = float(np.mean(np.maximum(logits, 0) - logits * y
                                 + np.log1p(np.exp(-np.abs(logits)))))
            losses.append({"step": step + 1, "train_mode_loss": round(loss, 4)})
            if loss < MEMORISE_LOSS:
                break
    final = losses[-1]["train_mode_loss"]
    return {"patches": len(x), "batch": batch, "learning_rate": 1e-3, "augmentation": False,
            "weight_decay": 0.0, "curve": losses, "final_train_mode_loss": final,
            "passes": final < MEMORISE_LOSS, "seconds": round(time.monotonic() - t0)}


def _blob(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    cx, cy = rng.uniform(24, size - 24, 2)
    sigma = rng.uniform(4, 7)
    return np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))


def gate_synthetic(index: dict[str, Any], canvases: np.ndarray, *, seed: int, n: int = 200,
                   epochs: int = 30, amplitude: float = 0.12) -> dict[str, Any]:
    import keras

    from core.training.model import build_patch_model, logit_submodel
    from core.training.stage1 import _cut, _tissue_centre, augment_patches

    rng = np.random.default_rng(seed)
    rows = [i for i, r in enumerate(index["samples"]) if r["dataset"] == "rsna"]
    rng.shuffle(rows)
    patches = []
    for k in range(4 * n):  # several patches per image when there are few images
        c = _tissue_centre(canvases[rows[k % len(rows)]], rng, [], margin=0)
        if c is not None:
            patches.append(_cut(canvases[rows[k % len(rows)]], *c).astype(np.float32) / 255.0)
        if len(patches) == n:
            break
    x = np.stack(patches)
    n = len(x)
    y = (np.arange(n) % 2).astype(np.float32)
    for i in np.nonzero(y)[0]:
        x[i] = np.clip(x[i] + amplitude * _blob(rng), 0, 1)
    n_train = int(n * 0.75)
    xtr, ytr, xte, yte = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    model = logit_submodel(build_patch_model(dropout=0.2))
    model.compile(optimizer=keras.optimizers.AdamW(1e-3, weight_decay=0.05,
                                                   global_clipnorm=1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    t0 = time.monotonic()
    curve = []
    for _ in range(epochs):
        xa = augment_patches((xtr * 255).astype(np.uint8), rng).astype(np.float32) / 255.0
        hist = model.fit(xa[..., None], ytr, batch_size=16, epochs=1, verbose=0)
        curve.append(round(float(hist.history["loss"][-1]), 4))
    recompute_batchnorm(model, xtr[..., None])
    auc = float(roc_auc(yte, np.asarray(model(xte[..., None], training=False))[:, 0]))
    return {"patches": n, "train": n_train, "held_out": n - n_train, "amplitude": amplitude,
            "blob_sigma_px": [4, 7], "epochs": epochs, "augmentation": True,
            "train_loss_curve": curve, "held_out_auc": round(auc, 4),
            "passes": auc > SYNTHETIC_AUC, "seconds": round(time.monotonic() - t0)}


def gate_shortcuts(index: dict[str, Any], canvases: np.ndarray) -> dict[str, Any]:
    from core.training.finalize import CANVAS_STATS, fit_logistic

    rows = [i for i, r in enumerate(index["samples"]) if r["dataset"] == "rsna"]
    dev = np.array([i for i in rows if index["samples"][i]["fold"] >= 0])
    test = np.array([i for i in rows if index["samples"][i]["fold"] < 0])
    y = np.array([r["label"] for r in index["samples"]], dtype=float)

    def thumb(i: int) -> np.ndarray:
        img = Image.fromarray(canvases[i]).resize((32, 32), Image.Resampling.BOX)
        return np.asarray(img, np.float64).reshape(-1) / 255.0

    def stats(i: int) -> list[float]:
        c = canvases[i].astype(np.float64) / 255.0
        return [f(c) for f in CANVAS_STATS.values()]

    out: dict[str, Any] = {"dataset": "rsna", "dev_images": len(dev), "test_images": len(test)}
    if min(len(dev), len(test)) < 4 or len(set(y[dev])) < 2 or len(set(y[test])) < 2:
        out["note"] = "too few images of both classes for a baseline"
        return out
    for name, feat, ridge in (("intensity_statistics", stats, 1e-3),
                              ("thumbnail_32x32_linear_probe", thumb, 30.0)):
        xd = np.array([feat(i) for i in dev])
        xt = np.array([feat(i) for i in test])
        model = fit_logistic(xd, y[dev], ridge=ridge)
        out[name] = {"held_out_auc": round(float(roc_auc(y[test], model(xt))), 4)}
    return out


def run_gates(pack: Path, out: Path, *, seed: int = 0, only: list[str] | None = None,
              scale: float = 1.0) -> dict[str, Any]:
    """Run the gates and write their results to ``out``; ``scale`` < 1 shortens (a)'s and
    (b)'s runs for smoke tests (their verdicts then mean nothing)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    keras.mixed_precision.set_global_policy(training_precision())
    keras.utils.set_random_seed(seed)
    index, canvases = _patch_sets(pack, seed)
    result: dict[str, Any] = {}
    gates = {"shortcuts": lambda: gate_shortcuts(index, canvases),
             "memorise": lambda: gate_memorise(index, canvases, seed=seed,
                                               steps=max(20, round(200 * scale))),
             "synthetic": lambda: gate_synthetic(index, canvases, seed=seed,
                                                 n=max(16, round(200 * scale)),
                                                 epochs=max(1, round(30 * scale)))}
    for name, fn in gates.items():
        if only and name not in only:
            continue
        result[name] = fn()
        if scale != 1.0:
            result[name]["scale"] = scale
        print(name, json.dumps(result[name]), flush=True)
        out.write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Gates before a long training run.")
    p.add_argument("--pack", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", action="append", choices=["shortcuts", "memorise", "synthetic"])
    a = p.parse_args(argv)
    result = run_gates(a.pack, a.out, seed=a.seed, only=a.only)
    failed = [k for k, v in result.items() if v.get("passes") is False]
    print("gates failed: " + ", ".join(failed) if failed else "gates passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
