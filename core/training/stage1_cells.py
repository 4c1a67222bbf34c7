"""Stage 1c: the lesion model fine-tuned to say *where* in a window the lesion is.

Stage 1 (and 1b) learnt one score per 128x128 patch: its 4x4 cell map was never asked to put
the lesion in the right cell, and a head trained on those frozen cells puts the heatmap peak
inside the DDSM lesion box on only about 40% of the films, however it is trained (one branch or
a separate lesion branch, with or without the image loss). So the whole network is fine-tuned on
windows cut at random offsets around the located findings, on mined hard negatives and on
random tissue windows, with a loss per cell: the stage-1 logit layer applied to every cell of
the 4x4 map (its mean is still the patch logit) against the cells whose centre lies in a
finding's box (:func:`core.training.stage2_windows.window_cell_targets`).

Only development cases are trained on. ``exclude_fold`` keeps one development fold's films out
too, so that the stage-2 heatmap of those films, out of fold, measures what stage 1c learnt
rather than what it memorised.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.windows import WINDOW
from core.training.stage1 import (
    TISSUE_LEVEL,
    _cut,
    adamw_warmup_cosine,
    heldout_patches,
    lesions_of,
    patch_auc,
    training_setup,
)
from core.training.stage1_finetune import close, record_epoch, start_or_resume
from core.training.stage2_windows import _window_loss, window_cell_targets

HALF = WINDOW // 2


def sample_windows(index: dict[str, Any], canvases: np.ndarray, located: list[int],
                   normals: list[int], hard: list[tuple], rng: np.random.Generator, *,
                   offset: float = 48.0) -> tuple[np.ndarray, np.ndarray]:
    """One epoch: per lesion, one window with the lesion's centre up to ``offset`` pixels off
    the window's centre, one mined hard negative and two random breast windows (half on
    normals). Returns uint8 windows ``(n, 128, 128)`` and targets+weights ``(n, 4, 4, 2)``."""
    size = canvases.shape[1]
    lesions = lesions_of(index, located)
    centres: list[tuple[int, float, float]] = []
    for le in lesions:
        centres.append((le.row, le.x + rng.uniform(-offset, offset),
                        le.y + rng.uniform(-offset, offset)))
    picks = rng.choice(len(hard), size=min(len(hard), len(lesions)), replace=False) \
        if hard else []
    for k in picks:
        row, cx, cy = hard[k][:3]
        centres.append((int(row), cx + rng.uniform(-16, 16), cy + rng.uniform(-16, 16)))
    for k in range(2 * len(lesions)):
        rows = normals if normals and k % 2 else located
        row = rows[rng.integers(len(rows))]
        ys, xs = np.nonzero(canvases[row][::8, ::8] > TISSUE_LEVEL)
        if len(xs):
            j = rng.integers(len(xs))
            centres.append((row, xs[j] * 8 + rng.uniform(0, 8), ys[j] * 8 + rng.uniform(0, 8)))
    xs_out, ts = [], []
    for row, cx, cy in centres:
        x0 = float(np.clip(round(cx) - HALF, 0, size - WINDOW))
        y0 = float(np.clip(round(cy) - HALF, 0, size - WINDOW))
        xs_out.append(_cut(canvases[row], x0 + HALF, y0 + HALF))
        t, w = window_cell_targets(index["samples"][row]["findings"], x0, y0)
        if t.any():
            w[t > 0] = max(1.0, float(((w > 0) & (t == 0)).sum()) / float(t.sum()))
        ts.append(np.stack([t, w], axis=-1))
    return np.stack(xs_out), np.stack(ts).astype(np.float32)


def augment_with_targets(x: np.ndarray, t: np.ndarray, rng: np.random.Generator
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Rotations by 90 degrees and flips applied to the window and its cell targets alike;
    gamma on the window."""
    xo, to = np.empty_like(x), np.empty_like(t)
    for i in range(len(x)):
        k = int(rng.integers(4))
        p, q = np.rot90(x[i], k), np.rot90(t[i], k)
        if rng.random() < 0.5:
            p, q = p[:, ::-1], q[:, ::-1]
        gamma = math.exp(rng.uniform(-0.3, 0.3))
        xo[i] = np.clip(255.0 * (p / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
        to[i] = q
    return xo, to


def cell_trainer(patch_model: Any, *, learning_rate: float, steps: int,
                 weight_decay: float = 0.05) -> Any:
    """The patch network with its logit layer applied to every cell of the 4x4 map."""
    import keras

    feats = patch_model.get_layer("features").output
    cells = patch_model.get_layer("logit")(feats)
    cells = keras.layers.Reshape((4, 4), name="cell_logits", dtype="float32")(cells)
    trainer = keras.Model(patch_model.input, cells)
    trainer.compile(optimizer=adamw_warmup_cosine(learning_rate=learning_rate, steps=steps,
                                                  warmup=min(50, steps // 10),
                                                  weight_decay=weight_decay),
                    loss=_window_loss)
    return trainer


def finetune_cells(pack: Path, work: Path, start_weights: Path, hard_path: Path | None, *,
                   epochs: int, exclude_fold: int | None = None, learning_rate: float = 2e-4,
                   batch_size: int = 32, seed: int = 0, log: Any = print) -> dict[str, Any]:
    """Fine-tune stage 1 with a loss per cell; writes ``stage1.weights.h5`` and
    ``stage1_log.json`` into ``work`` (resumable by epoch)."""
    from core.training.model import build_patch_model, logit_submodel

    index, canvases, located, normals = training_setup(pack, work, seed=seed)
    hard = [tuple(h) for h in json.loads(hard_path.read_text())] \
        if hard_path is not None and hard_path.is_file() else []
    if exclude_fold is not None:
        def kept(row: int) -> bool:
            return index["samples"][row]["fold"] != exclude_fold

        located, normals = [i for i in located if kept(i)], [i for i in normals if kept(i)]
        hard = [h for h in hard if kept(int(h[0]))]
    n_lesions = len(lesions_of(index, located))
    if not n_lesions:
        raise ValueError("stage 1c: no located development film is left to train on"
                         + (f" once fold {exclude_fold} is left out" if exclude_fold is not None
                            else ""))
    steps = epochs * math.ceil(4 * n_lesions / batch_size)
    patch_model = build_patch_model(dropout=0.2)
    trainer = cell_trainer(patch_model, learning_rate=learning_rate, steps=steps)
    state = start_or_resume(patch_model, trainer, work, start_weights, prefix="cell",
                            before_key="before_cells_heldout_patch_auc")
    test_x, test_y = heldout_patches(index, canvases)
    scorer = logit_submodel(patch_model)
    log(f"stage 1c: {n_lesions} lesions on {len(located)} films, {len(normals)} normals, "
        f"{len(hard)} hard negatives" + (f", fold {exclude_fold} left out"
                                         if exclude_fold is not None else ""))
    for epoch in range(len(state["cell_epochs"]), epochs):
        rng = np.random.default_rng(seed * 1000 + 700 + epoch)
        x, t = sample_windows(index, canvases, located, normals, hard, rng)
        x, t = augment_with_targets(x, t, rng)
        order = rng.permutation(len(x))
        te = time.monotonic()
        hist = trainer.fit(x[order].astype(np.float32)[..., None] / 255.0, t[order],
                           batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
        entry = {"epoch": epoch + 1, "loss": float(hist.history["loss"][-1]),
                 "windows": len(x), "seconds": round(time.monotonic() - te, 1),
                 "heldout_patch_auc_eval_mode": patch_auc(scorer, test_x, test_y)}
        record_epoch(state, entry, prefix="cell", trainer=trainer, patch_model=patch_model,
                     work=work, log=log)
    recipe = {
        "epochs": epochs, "learning_rate": learning_rate, "offset_px": 48,
        "excluded_fold": exclude_fold,
        "windows": "per lesion one off-centre lesion window, one mined hard negative, two "
                   "random breast windows; loss per cell of the 4x4 map"}
    return close(state, held_out_auc=patch_auc(scorer, test_x, test_y), test_y=test_y,
                 recipe_key="cell_finetune", recipe=recipe, patch_model=patch_model, work=work,
                 log=log)

__all__ = ["augment_with_targets", "finetune_cells", "sample_windows", "window_cell_targets"]
