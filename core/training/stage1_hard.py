"""Stage 1b: the lesion model fine-tuned on its own hard negatives (windows layout).

Stage 1 tells a lesion from a random tissue patch well (held-out patch AUC 0.90) but, read as
overlapping windows over a whole film, its top window is the lesion on only about a third of
the held-out images: a few tissue windows per film (skin edge, pectoral muscle, dense
parenchyma, film labels) score higher than the lesion, and random tissue patches rarely show
them. So the windows that stage 1 scores highest while clear of every finding, on the
development films, are mined once from the cached window features and added to every epoch
as negatives (jittered, augmented), next to the usual lesion and random-tissue patches.

Only development cases are mined or trained on; the held-out patch AUC is measured on the same
fixed held-out patches as stage 1's.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.windows import WINDOW, positions
from core.training.stage1 import (
    _cut,
    augment_patches,
    build_trainer,
    heldout_patches,
    lesions_of,
    patch_auc,
    sample_patches,
    training_setup,
)
from core.training.stage1_finetune import close, record_epoch, start_or_resume
from core.training.stage2_windows import window_targets


def mine_hard_negatives(index: dict[str, Any], feats: np.ndarray, masks: np.ndarray,
                        kernel: np.ndarray, bias: float, rows: list[int], *, per_image: int = 3
                        ) -> list[tuple[int, float, float, float]]:
    """(row, centre x, centre y, stage-1 logit) of the ``per_image`` highest-scoring windows
    of each row that are clear of every finding (the tissue windows of the lesion loss)."""
    canvas = int(index["canvas"])
    pos = positions(canvas)
    out = []
    for i in rows:
        r = index["samples"][i]
        target, weight = window_targets(r, masks[i], canvas) if r["findings"] else (
            np.zeros(len(masks[i])), masks[i].astype(np.float32))
        clear = (weight > 0) & (target == 0)
        if not clear.any():
            continue
        sel = np.nonzero(clear)[0]
        pooled = np.asarray(feats[i][sel], np.float32).mean(axis=(1, 2))  # (m, 1024)
        logits = pooled @ kernel + bias
        for o in np.argsort(logits)[::-1][:per_image]:
            j = sel[o]
            y, x = pos[j // len(pos)], pos[j % len(pos)]
            out.append((i, float(x + WINDOW / 2), float(y + WINDOW / 2), float(logits[o])))
    return out


def finetune(pack: Path, work: Path, start_weights: Path, feats_path: Path, *, epochs: int,
             learning_rate: float = 2e-4, batch_size: int = 32, seed: int = 0,
             jitter: float = 16.0, log: Any = print) -> dict[str, Any]:
    """Fine-tune stage 1 with mined hard negatives; writes ``stage1.weights.h5`` and
    ``stage1_log.json`` into ``work`` (resumable by epoch)."""
    index, canvases, located, normals = training_setup(pack, work, seed=seed)
    n_lesions = len(lesions_of(index, located))
    per_epoch = n_lesions * 4
    steps = epochs * math.ceil(per_epoch / batch_size)
    patch_model, trainer = build_trainer(learning_rate=learning_rate, steps=steps,
                                         warmup=min(50, steps // 10), weight_decay=0.05)
    state = start_or_resume(patch_model, trainer, work, start_weights, prefix="hard",
                            before_key="base_heldout_patch_auc")
    feats = np.load(feats_path, mmap_mode="r")
    masks = np.load(feats_path.with_suffix(".mask.npy"))
    mine_path = work / "hard_negatives.json"
    if mine_path.is_file():
        hard = [tuple(h) for h in json.loads(mine_path.read_text())]
    else:
        kernel, bias = (np.asarray(v, np.float32) for v in
                        patch_model.get_layer("logit").get_weights())
        hard = mine_hard_negatives(index, feats, masks, kernel[:, 0], float(bias[0]),
                                   located + normals)
        mine_path.write_text(json.dumps(hard))
    log(f"{len(hard)} hard negatives mined from {len(located) + len(normals)} development "
        f"films; {n_lesions} lesions")
    test_x, test_y = heldout_patches(index, canvases)
    for epoch in range(len(state["hard_epochs"]), epochs):
        rng = np.random.default_rng(seed * 1000 + 500 + epoch)
        x, y = sample_patches(index, canvases, located=located, normals=normals, rng=rng)
        pick = rng.choice(len(hard), size=min(len(hard), n_lesions), replace=False)
        hx = np.stack([_cut(canvases[hard[k][0]],
                            hard[k][1] + rng.uniform(-jitter, jitter),
                            hard[k][2] + rng.uniform(-jitter, jitter)) for k in pick])
        hx = augment_patches(hx, rng)[..., None]
        x = np.concatenate([x, hx])
        y = np.concatenate([y, np.zeros(len(hx), np.float32)])
        order = rng.permutation(len(y))
        te = time.monotonic()
        hist = trainer.fit(x[order].astype(np.float32) / 255.0, y[order],
                           batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
        entry = {"epoch": epoch + 1, "loss": float(hist.history["loss"][-1]),
                 "patches": len(y), "hard_negatives": len(hx),
                 "seconds": round(time.monotonic() - te, 1),
                 "heldout_patch_auc_eval_mode": patch_auc(trainer, test_x, test_y)}
        record_epoch(state, entry, prefix="hard", trainer=trainer, patch_model=patch_model,
                     work=work, log=log)
    recipe = {
        "epochs": epochs, "learning_rate": learning_rate, "per_image": 3, "jitter_px": jitter,
        "mined": len(hard), "from": "development films (DDSM, mini-MIAS), stage-1 windows "
                                    "clear of every finding, highest stage-1 logits"}
    return close(state, held_out_auc=patch_auc(trainer, test_x, test_y), test_y=test_y,
                 recipe_key="hard_negative_finetune", recipe=recipe, patch_model=patch_model,
                 work=work, log=log)


__all__ = ["finetune", "mine_hard_negatives"]
