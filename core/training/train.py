"""Cross-validated multiple-instance training of the DenseNet121 patch model.

One run per cross-validation fold (its out-of-fold predictions decide aggregation, calibration
and threshold later) and one final run on all development patients, the model that ships. The
held-out test patients are never trained on; the final model's predictions on them are kept.

Runs share one compiled model (weights and optimizer are reset between runs), checkpoint after
every epoch (``--resume`` goes on from the last one), and log progress as they go.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.training.model import build_mil_models, build_patch_model, patch_loss
from core.training.pack_io import finding_mask, load_pack

Log = Callable[[str], None]


def _stitch(cam: np.ndarray) -> np.ndarray:
    """(b, n*n, h, w) patch maps -> (b, n*h, n*w) canvas map."""
    b, nn, h, w = cam.shape
    n = int(round(math.sqrt(nn)))
    return cam.reshape(b, n, n, h, w).transpose(0, 1, 3, 2, 4).reshape(b, n * h, n * w)


def peak_on_canvas(cam: np.ndarray, canvas: int) -> np.ndarray:
    """Canvas coordinates (x, y) of each map's maximum cell centre: (b, 2)."""
    full = _stitch(cam)
    b, hh, ww = full.shape
    flat = full.reshape(b, -1).argmax(axis=1)
    rows, cols = np.divmod(flat, ww)
    cell_x, cell_y = canvas / ww, canvas / hh
    return np.stack([(cols + 0.5) * cell_x, (rows + 0.5) * cell_y], axis=1)


class _Checkpoint:
    """Weights + optimizer state + epoch after each epoch, for ``--resume``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, model: Any, epoch: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        model.save_weights(str(self.folder / "model.weights.h5"))
        opt = {f"v{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)}
        np.savez(self.folder / "optimizer.npz", **opt)
        (self.folder / "state.json").write_text(json.dumps({"epoch": epoch}))

    def restore(self, model: Any) -> int:
        """Load the checkpoint; returns the next epoch to run (0 when there is none)."""
        state = self.folder / "state.json"
        if not state.is_file():
            return 0
        model.load_weights(str(self.folder / "model.weights.h5"))
        saved = np.load(self.folder / "optimizer.npz")
        model.optimizer.build(model.trainable_variables)
        for i, v in enumerate(model.optimizer.variables):
            v.assign(saved[f"v{i}"])
        return int(json.loads(state.read_text())["epoch"]) + 1


def _lr_schedule(base: float, epochs: int) -> Callable[[int, float], float]:
    def lr(epoch: int, _current: float) -> float:
        if epoch == 0:
            return base * 0.3
        return base * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / max(epochs - 1, 1)))

    return lr


def train(
    pack_index: Path,
    out: Path,
    *,
    epochs: int = 30,
    seed: int = 0,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    time_budget: float | None = None,
    cv_folds: int | None = None,
    resume: bool = False,
    precision: str | None = None,
    ship: str = "final",
    log: Log = print,
) -> dict[str, Any]:
    """Train the fold models and, with ``ship="final"``, the final model; write
    ``out/results.json`` and weights.

    ``ship="ensemble"`` trains no final run: the fold models themselves ship, averaged, so each
    out-of-fold prediction comes from a model that ships (on a small compute budget this buys
    each model more epochs than fold runs plus a final run would)."""
    if ship not in ("final", "ensemble"):
        raise ValueError(f"ship must be 'final' or 'ensemble', not {ship!r}")
    import keras

    t_start = time.time()
    keras.utils.set_random_seed(seed)
    from core.training.model import training_precision

    precision = precision or training_precision()
    keras.mixed_precision.set_dtype_policy(precision)
    index, canvases = load_pack(pack_index)
    canvas = int(index["canvas"])
    rows = index["samples"]
    n = len(rows)
    folds_in_pack = int(index["folds"])
    cv_folds = cv_folds or folds_in_pack
    log(f"pack: {n} images, canvas {canvas}, {folds_in_pack} folds in pack, using {cv_folds};"
        f" backend {keras.backend.backend()}, policy {precision}")
    masks = np.stack([finding_mask(r, canvas) for r in rows])
    x = np.stack([canvases, masks], axis=-1)
    y = np.array([r["label"] for r in rows], dtype=np.float32)[:, None]
    valid = np.array([[1.0 if m.any() else 0.0] for m in masks], dtype=np.float32)
    fold = np.array([r["fold"] if r["fold"] < 0 else r["fold"] % cv_folds for r in rows])

    patch_model = build_patch_model()
    train_model, predict_model = build_mil_models(patch_model, canvas=canvas, seed=seed)
    train_model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=1e-4,
                                         clipnorm=1.0),
        loss={"image": keras.losses.BinaryCrossentropy(from_logits=True), "patch": patch_loss},
        loss_weights={"image": 1.0, "patch": 0.5},
        # XLA on JAX; TensorFlow cannot XLA-compile the affine augmentation, so a plain graph.
        jit_compile=keras.backend.backend() != "tensorflow",
    )
    initial = [np.asarray(w) for w in train_model.get_weights()]

    def reset() -> None:
        train_model.set_weights(initial)
        if train_model.optimizer.built:
            for v in train_model.optimizer.variables:
                v.assign(np.zeros(v.shape, dtype=v.dtype))

    class Batches(keras.utils.PyDataset):
        """Full, shuffled, class-balanced batches only: one batch shape, so one compilation."""

        def __init__(self, idx: np.ndarray, steps: int | None) -> None:
            super().__init__()
            self.idx = idx
            pos = y[idx, 0] > 0.5
            self.w = np.where(pos, (~pos).sum() / max(pos.sum(), 1), 1.0).astype(np.float32)
            self.steps = steps or len(idx) // batch_size
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def __len__(self) -> int:
            return self.steps

        def on_epoch_end(self) -> None:
            reps = math.ceil(self.steps * batch_size / len(self.idx))
            self.order = np.concatenate([self.rng.permutation(len(self.idx))
                                         for _ in range(reps)])

        def __getitem__(self, i: int) -> tuple[Any, Any, Any]:
            pick = self.order[i * batch_size:(i + 1) * batch_size]
            j = self.idx[pick]
            return x[j], {"image": y[j], "patch": valid[j]}, self.w[pick]

    def fit(idx: np.ndarray, n_epochs: int, ckpt: _Checkpoint | None, steps: int | None = None
            ) -> None:
        start = ckpt.restore(train_model) if (ckpt and resume) else 0
        if start:
            log(f"  resumed at epoch {start + 1}")
        callbacks: list[Any] = [keras.callbacks.LearningRateScheduler(
            _lr_schedule(learning_rate, n_epochs))]
        if ckpt:
            callbacks.append(keras.callbacks.LambdaCallback(
                on_epoch_end=lambda e, logs: ckpt.save(train_model, e)))
        if keras.backend.backend() == "tensorflow":
            # A PyDataset hangs at the end of fit under TensorFlow (seen with Keras 3.15);
            # without XLA, the partial last batch costs nothing, so plain arrays do.
            pos = y[idx, 0] > 0.5
            w = np.where(pos, (~pos).sum() / max(pos.sum(), 1), 1.0).astype(np.float32)
            train_model.fit(x[idx], {"image": y[idx], "patch": valid[idx]}, sample_weight=w,
                            batch_size=batch_size, epochs=n_epochs, initial_epoch=start,
                            steps_per_epoch=steps, shuffle=True, verbose=2,
                            callbacks=callbacks)
            return
        train_model.fit(Batches(idx, steps), epochs=n_epochs, initial_epoch=start, verbose=2,
                        callbacks=callbacks)

    pred_batch = 32

    def predict(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-size (padded) batches, so prediction compiles once."""
        logits, cams = [], []
        for start in range(0, len(idx), pred_batch):
            j = idx[start:start + pred_batch]
            batch = x[np.concatenate([j, np.repeat(j[:1], pred_batch - len(j))]), ..., :1]
            outs = predict_model.predict_on_batch(batch)
            logits.append(np.asarray(outs["patch_logits"]).astype(np.float32)[: len(j)])
            cams.append(np.asarray(outs["cam"]).astype(np.float32)[: len(j)])
        cam = np.concatenate(cams)
        return np.concatenate(logits), peak_on_canvas(cam, canvas)

    dev = np.flatnonzero(fold >= 0)
    test = np.flatnonzero(fold < 0)
    steps_full = int(len(dev) * (cv_folds - 1) / cv_folds) // batch_size
    if time_budget:
        probe_steps = min(30, steps_full)
        t0 = time.time()
        fit(dev, 1, None, steps=5)  # compiles
        t1 = time.time()
        fit(dev, 1, None, steps=probe_steps)
        train_model.get_weights()  # waits for the device: JAX dispatches asynchronously
        per_step = (time.time() - t1) / probe_steps
        reset()
        remaining = time_budget - (time.time() - t_start)
        per_epoch = per_step * steps_full
        n_runs = cv_folds + (1 if ship == "final" else 0)
        affordable = int(remaining / (n_runs * per_epoch * 1.25))
        log(f"compile {t1 - t0:.0f} s; {per_step * 1000:.0f} ms/step; {per_epoch:.1f} s/epoch;"
            f" {affordable} epochs affordable per run")
        epochs = max(1, min(epochs, affordable))
    log(f"training {cv_folds} fold runs" + (" + 1 final run" if ship == "final" else
        " (their ensemble ships)") + f", {epochs} epochs each")

    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}
    # The final model first: if time runs out, the model that ships exists.
    for k in (["final"] if ship == "final" else []) + list(range(cv_folds)):
        name = f"fold{k}" if k != "final" else "final"
        done = runs_dir / f"{name}.npz"
        if resume and done.is_file():
            log(f"{name}: already done")
            continue
        tr = dev[fold[dev] != k] if k != "final" else dev
        ev = dev[fold[dev] == k] if k != "final" else test
        log(f"{name}: training on {len(tr)} images, predicting {len(ev)}")
        reset()
        t0 = time.time()
        fit(tr, epochs, _Checkpoint(out / "checkpoints" / name))
        logits, peaks = predict(ev) if len(ev) else (np.zeros((0, 1)), np.zeros((0, 2)))
        np.savez(done, idx=ev, logits=logits, peaks=peaks)
        timings[name] = time.time() - t0
        if k == "final":
            patch_model.save_weights(str(out / "patch_model.weights.h5"))
        else:
            patch_model.save_weights(str(out / f"patch_model_fold{k}.weights.h5"))
        ev_y = y[ev, 0]
        if len(ev) and 0 < ev_y.sum() < len(ev):
            from core.metrics import roc_auc

            log(f"{name}: AUC (mean-pooled) {roc_auc(ev_y, logits.mean(1)):.3f}"
                f" in {timings[name]:.0f} s")
    for f in sorted(runs_dir.glob("*.npz")):
        data = np.load(f)
        for i, lg, pk in zip(data["idx"], data["logits"], data["peaks"], strict=True):
            r = rows[int(i)]
            results[r["key"]] = {"source": "test" if f.stem == "final" else "oof",
                                 "run": f.stem, "logits": lg.tolist(), "peak": pk.tolist()}
    summary = {"epochs": epochs, "cv_folds": cv_folds, "seed": seed, "batch_size": batch_size,
               "learning_rate": learning_rate, "precision": precision, "ship": ship,
               "backend": keras.backend.backend(), "timings_s": timings,
               "total_s": time.time() - t_start, "predictions": results}
    (out / "results.json").write_text(json.dumps(summary))
    log(f"done in {summary['total_s']:.0f} s")
    return summary
