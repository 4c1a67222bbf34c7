"""Stage 1: a DenseNet121 patch model that tells a located lesion from breast tissue.

Patches of 128x128 are cut from the preprocessed canvases (the same preprocessing the app
uses, so the scale is the one the network sees at inference): centred on a lesion (DDSM boxes,
every located mini-MIAS finding, benign or malignant) with jitter, rotations, flips and gamma,
against breast tissue outside every finding of the same film images and of the mini-MIAS
normals. Every located lesion is on film, so no digital image is used here: a digital-only
negative would teach "digital = no lesion" (the film/digital shortcut).

Held-out patients (``fold == -1`` in the pack) are never trained on; they give the patch AUC
and the share of heatmap peaks inside the lesion box reported in the card.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.training.model import training_precision
from core.training.pack_io import load_pack

PATCH = 128
HALF = PATCH // 2
TISSUE_LEVEL = 0.08 * 255  # canvas grey level above which a pixel counts as breast


@dataclass(frozen=True)
class Lesion:
    row: int  # index into the pack
    x: float  # canvas pixels
    y: float
    rx: float
    ry: float


def lesions_of(index: dict[str, Any], rows: list[int]) -> list[Lesion]:
    """Every located finding (film only) of the given pack rows."""
    out = []
    for i in rows:
        for f in index["samples"][i]["findings"]:
            out.append(Lesion(i, f["x"], f["y"], max(f["rx"], 2.0), max(f["ry"], 2.0)))
    return out


def film_rows(index: dict[str, Any], *, test: bool) -> tuple[list[int], list[int]]:
    """(rows with located lesions, lesion-free mini-MIAS rows) of the dev or test patients."""
    located, normals = [], []
    for i, s in enumerate(index["samples"]):
        if s["dataset"] not in ("ddsm", "mias") or (s["fold"] == -1) != test:
            continue
        if s["findings"]:
            located.append(i)
        elif s["dataset"] == "mias" and s["label"] == 0:
            normals.append(i)
    return located, normals


def _cut(canvas: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """A PATCH x PATCH window centred at (cx, cy), zero outside the canvas."""
    size = canvas.shape[0]
    x0, y0 = int(round(cx)) - HALF, int(round(cy)) - HALF
    out = np.zeros((PATCH, PATCH), dtype=np.uint8)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(size, x0 + PATCH), min(size, y0 + PATCH)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = canvas[sy0:sy1, sx0:sx1]
    return out


def _tissue_centre(canvas: np.ndarray, rng: np.random.Generator, avoid: list[Lesion],
                   margin: float) -> tuple[float, float] | None:
    """A random breast-tissue point whose patch stays clear of every finding (+ margin)."""
    ys, xs = np.nonzero(canvas[::8, ::8] > TISSUE_LEVEL)
    if len(xs) == 0:
        return None
    for _ in range(30):
        k = rng.integers(len(xs))
        cx, cy = xs[k] * 8 + rng.uniform(0, 8), ys[k] * 8 + rng.uniform(0, 8)
        if all(abs(cx - le.x) > le.rx + HALF + margin or abs(cy - le.y) > le.ry + HALF + margin
               for le in avoid):
            return cx, cy
    return None


def sample_patches(index: dict[str, Any], canvases: np.ndarray, *, located: list[int],
                   normals: list[int], rng: np.random.Generator, neg_per_lesion: int = 2,
                   jitter: float = 0.5, augment: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's patches: every lesion once (jittered) and ``neg_per_lesion`` tissue patches
    per lesion, half from the lesion images, half from normals when there are any."""
    lesions = lesions_of(index, located)
    by_row: dict[int, list[Lesion]] = {}
    for le in lesions:
        by_row.setdefault(le.row, []).append(le)
    xs, ys = [], []
    for le in lesions:
        # Jitter within the lesion (bounded so that the lesion's centre stays in the patch).
        jx = rng.uniform(-1, 1) * min(le.rx * jitter, HALF * 0.5)
        jy = rng.uniform(-1, 1) * min(le.ry * jitter, HALF * 0.5)
        xs.append(_cut(canvases[le.row], le.x + jx, le.y + jy))
        ys.append(1.0)
    n_neg = neg_per_lesion * len(lesions)
    for k in range(n_neg):
        if normals and k % 2 == 1:
            row = normals[rng.integers(len(normals))]
        else:
            row = located[rng.integers(len(located))]
        centre = _tissue_centre(canvases[row], rng, by_row.get(row, []), margin=8.0)
        if centre is None:
            continue
        xs.append(_cut(canvases[row], *centre))
        ys.append(0.0)
    x = np.stack(xs)
    if augment:
        x = augment_patches(x, rng)
    order = rng.permutation(len(x))
    return x[order, ..., None], np.asarray(ys, dtype=np.float32)[order]


def augment_patches(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotations by 90 degrees, flips and gamma (uint8 in, uint8 out)."""
    out = np.empty_like(x)
    for i in range(len(x)):
        p = np.rot90(x[i], k=int(rng.integers(4)))
        if rng.random() < 0.5:
            p = p[:, ::-1]
        gamma = math.exp(rng.uniform(-0.3, 0.3))
        out[i] = np.clip(255.0 * (p / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return out


def build_trainer(*, learning_rate: float, steps: int, warmup: int, weight_decay: float) -> Any:
    """The patch model (score + feature map) and its logit model compiled for training."""
    import keras

    from core.training.model import build_patch_model, logit_submodel

    patch_model = build_patch_model(dropout=0.2)
    trainer = logit_submodel(patch_model)
    trainer.compile(optimizer=adamw_warmup_cosine(learning_rate=learning_rate, steps=steps,
                                                  warmup=warmup, weight_decay=weight_decay),
                    loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return patch_model, trainer


def adamw_warmup_cosine(*, learning_rate: float, steps: int, warmup: int, weight_decay: float
                        ) -> Any:
    """AdamW, a linear warm-up to ``learning_rate`` then cosine decay, global clip norm 1."""
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate * 0.01, decay_steps=max(1, steps - warmup),
        warmup_target=learning_rate, warmup_steps=warmup, alpha=0.02)
    return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay,
                                  global_clipnorm=1.0)


def training_setup(pack: Path, work: Path, *, seed: int
                   ) -> tuple[dict[str, Any], np.ndarray, list[int], list[int]]:
    """What stage 1 and its fine-tunes start with: TensorFlow in mixed bfloat16, the seed, the
    work folder, the pack's canvases and the development films (located, normals)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    keras.mixed_precision.set_global_policy(training_precision())
    keras.utils.set_random_seed(seed)
    work.mkdir(parents=True, exist_ok=True)
    index, canvases = load_pack(pack / "index.json")
    located, normals = film_rows(index, test=False)
    return index, canvases, located, normals


def patch_auc(trainer: Any, x: np.ndarray, y: np.ndarray) -> float:
    from core.metrics import roc_auc

    logits = trainer.predict(x.astype(np.float32) / 255.0, batch_size=64, verbose=0)[:, 0]
    return float(roc_auc(y, logits))


def heldout_patches(index: dict[str, Any], canvases: np.ndarray, *, seed: int = 123
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Fixed test patches: each held-out lesion centred, four tissue patches per lesion."""
    located, normals = film_rows(index, test=True)
    return sample_patches(index, canvases, located=located, normals=normals,
                          rng=np.random.default_rng(seed), neg_per_lesion=4, jitter=0.0,
                          augment=False)


def train(pack: Path, work: Path, *, time_budget: float, epochs: int, batch_size: int,
          learning_rate: float, seed: int) -> dict[str, Any]:
    """Train (or resume) stage 1 until ``epochs`` or the time budget; returns the log."""
    t0 = time.monotonic()
    index, canvases, located, normals = training_setup(pack, work, seed=seed)
    n_lesions = len(lesions_of(index, located))
    per_epoch = n_lesions * 3
    steps = epochs * math.ceil(per_epoch / batch_size)
    patch_model, trainer = build_trainer(learning_rate=learning_rate, steps=steps,
                                         warmup=min(200, steps // 10), weight_decay=0.05)
    log_path = work / "stage1_log.json"
    log: dict[str, Any] = {"epochs": [], "n_lesions_dev": n_lesions, "batch_size": batch_size,
                           "learning_rate": learning_rate, "seed": seed, "planned_epochs": epochs}
    ckpt = work / "stage1.weights.h5"
    if ckpt.is_file() and log_path.is_file():
        log = json.loads(log_path.read_text())
        log["planned_epochs"] = epochs
        patch_model.load_weights(ckpt)
        # Re-create the optimizer's step so the schedule resumes where it stopped.
        trainer.optimizer.iterations.assign(int(log.get("iterations", 0)))
        print(f"resumed after epoch {len(log['epochs'])}", flush=True)
    log["precision"] = training_precision()
    test_x, test_y = heldout_patches(index, canvases)
    print(f"dev lesions {n_lesions}, dev normals {len(normals)}, held-out patches "
          f"{len(test_y)} ({int(test_y.sum())} lesion)", flush=True)
    epoch_times: list[float] = []
    for epoch in range(len(log["epochs"]), epochs):
        rng = np.random.default_rng(seed * 1000 + epoch)
        x, y = sample_patches(index, canvases, located=located, normals=normals, rng=rng)
        te = time.monotonic()
        hist = trainer.fit(x.astype(np.float32) / 255.0, y, batch_size=batch_size, epochs=1,
                           verbose=0, shuffle=False)
        epoch_times.append(time.monotonic() - te)
        entry = {"epoch": epoch + 1, "loss": float(hist.history["loss"][-1]),
                 "patches": len(y), "seconds": round(epoch_times[-1], 1)}
        if (epoch + 1) % 3 == 0 or epoch + 1 == epochs:
            # Monitoring only: no choice (stopping, selection) is made on these figures.
            entry["heldout_patch_auc_eval_mode"] = patch_auc(trainer, test_x, test_y)
        log["epochs"].append(entry)
        log["iterations"] = int(trainer.optimizer.iterations.numpy())
        patch_model.save_weights(ckpt)
        log_path.write_text(json.dumps(log, indent=1))
        print(json.dumps(entry), flush=True)
        left = time_budget - (time.monotonic() - t0)
        if left < 1.2 * max(epoch_times):
            print(f"time budget reached after epoch {epoch + 1}", flush=True)
            break
    log["heldout_patch_auc"] = patch_auc(trainer, test_x, test_y)
    log["heldout_patches"] = int(len(test_y))
    log["heldout_lesion_patches"] = int(test_y.sum())
    log_path.write_text(json.dumps(log, indent=1))
    patch_model.save_weights(ckpt)
    print(f"held-out patch AUC {log['heldout_patch_auc']:.3f}", flush=True)
    return log


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Stage 1: lesion vs tissue patch model (film).")
    p.add_argument("--pack", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--time-budget", type=float, default=3600.0, help="seconds")
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    train(a.pack, a.work, time_budget=a.time_budget, epochs=a.epochs, batch_size=a.batch_size,
          learning_rate=a.learning_rate, seed=a.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
