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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.windows import WINDOW, cut_windows, positions
from core.training.model import training_precision
from core.training.stage1 import (
    _cut,
    augment_patches,
    build_trainer,
    film_rows,
    heldout_patches,
    lesions_of,
    patch_auc,
    sample_patches,
    training_setup,
)
from core.training.stage1_finetune import close, record_epoch, start_or_resume
from core.training.stage2_windows import window_targets
from core.training.window_features import masks_of


def clear_top_windows(row: dict[str, Any], mask: np.ndarray, logits: np.ndarray, canvas: int,
                      i: int, *, per_image: int) -> list[tuple[int, float, float, float]]:
    """(row index, centre x, centre y, logit) of the ``per_image`` highest of ``logits`` (one
    per window of the k*k layout) among the run windows clear of every finding of ``row``."""
    pos = positions(canvas)
    target, weight = window_targets(row, mask, canvas) if row["findings"] else (
        np.zeros(len(mask)), mask.astype(np.float32))
    sel = np.nonzero((weight > 0) & (target == 0))[0]
    out = []
    for j in sel[np.argsort(logits[sel])[::-1][:per_image]]:
        y, x = pos[j // len(pos)], pos[j % len(pos)]
        out.append((i, float(x + WINDOW / 2), float(y + WINDOW / 2), float(logits[j])))
    return out


def mine_hard_negatives(index: dict[str, Any], feats: np.ndarray, masks: np.ndarray,
                        kernel: np.ndarray, bias: float, rows: list[int], *, per_image: int = 3
                        ) -> list[tuple[int, float, float, float]]:
    """(row, centre x, centre y, stage-1 logit) of the ``per_image`` highest-scoring windows
    of each row that are clear of every finding (the tissue windows of the lesion loss), from
    the cached window features."""
    canvas = int(index["canvas"])
    out = []
    for i in rows:
        logits = np.full(len(masks[i]), -np.inf, np.float32)
        run = np.nonzero(masks[i])[0]
        logits[run] = np.asarray(feats[i][run], np.float32).mean(axis=(1, 2)) @ kernel + bias
        out += clear_top_windows(index["samples"][i], masks[i], logits, canvas, i,
                                 per_image=per_image)
    return out


def score_windows(predict: Callable[[np.ndarray], np.ndarray], canvases: np.ndarray,
                  rows: list[int], *, chunk: int = 16
                  ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The network's window logits as the app reads a canvas: {row: (mask, logits)}, logits
    over the k*k layout (-inf where no window is run: its centre is not breast). ``predict``
    maps float windows ``(n, 128, 128, 1)`` in [0, 1] to ``(n,)`` logits."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for s in range(0, len(rows), chunk):
        part = rows[s:s + chunk]
        masks = masks_of(canvases[part])
        wins = np.concatenate([cut_windows(canvases[i])[m] for i, m in zip(part, masks,
                                                                           strict=True)])
        logits = np.asarray(predict(wins[..., None].astype(np.float32) / 255.0)).reshape(-1)
        at = 0
        for i, m in zip(part, masks, strict=True):
            full = np.full(len(m), -np.inf, np.float32)
            full[m] = logits[at:at + int(m.sum())]
            at += int(m.sum())
            out[i] = (m, full)
    return out


def onnx_window_logits(patch_model: Any, work: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The network's window logit as it is now, through ONNX Runtime in float32 (the engine
    the features step uses; about twice as fast as Keras's bfloat16 predict on these CPUs):
    the mean of its feature map through the stage-1 logit layer."""
    import keras

    from core.training.stage2 import feature_session
    from core.training.window_features import export_patch_backbone

    weights, onnx_path = work / "mining.weights.h5", work / "mining.onnx"
    patch_model.save_weights(str(weights))
    policy = keras.mixed_precision.global_policy()
    try:
        export_patch_backbone(weights, onnx_path)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    sess, name, feat_out = feature_session(onnx_path)
    kernel, bias = (np.asarray(v, np.float32) for v in
                    patch_model.get_layer("logit").get_weights())

    def predict(x: np.ndarray) -> np.ndarray:
        f = np.concatenate([sess.run([feat_out], {name: x[s:s + 64]})[0]
                            for s in range(0, len(x), 64)])
        return f.mean(axis=(1, 2)) @ kernel[:, 0] + bias[0]

    return predict


def top_window_share(index: dict[str, Any], scored: dict[int, tuple[np.ndarray, np.ndarray]]
                     ) -> dict[str, Any]:
    """On located films: how often the centre of the top-scoring window lies in a finding."""
    from core.training.stage2 import peak_in_finding, peak_share

    pos = positions(int(index["canvas"]))
    hits = total = 0
    for i, (_, logits) in scored.items():
        r = index["samples"][i]
        if not r["findings"]:
            continue
        j = int(np.argmax(logits))
        cx, cy = pos[j % len(pos)] + WINDOW / 2, pos[j // len(pos)] + WINDOW / 2
        total += 1
        hits += any(peak_in_finding(f, cx, cy) for f in r["findings"])
    return peak_share(hits, total) if total else {"images": 0}


def mine_live(predict: Callable[[np.ndarray], np.ndarray], index: dict[str, Any],
              canvases: np.ndarray, rows: list[int], *, per_image: int = 3
              ) -> tuple[list[tuple[int, float, float, float]], dict]:
    """Hard negatives mined by the network as it is now (``predict``: windows -> logits; no
    cached features), and how often its top window is the lesion on the located ones among
    ``rows``."""
    canvas = int(index["canvas"])
    scored = score_windows(predict, canvases, rows)
    hard = []
    for i, (m, logits) in scored.items():
        hard += clear_top_windows(index["samples"][i], m, logits, canvas, i, per_image=per_image)
    return hard, top_window_share(index, scored)


def finetune(pack: Path, work: Path, start_weights: Path, feats_path: Path | None, *,
             epochs: int, rounds: int = 1, learning_rate: float = 2e-4, batch_size: int = 32,
             seed: int = 0, jitter: float = 16.0, log: Any = print) -> dict[str, Any]:
    """Fine-tune stage 1 with mined hard negatives; writes ``stage1.weights.h5`` and
    ``stage1_log.json`` into ``work`` (resumable by epoch).

    ``rounds`` rounds of ``epochs`` epochs each, on one schedule. The first round mines from
    the cached window features at ``feats_path`` when there are any, every later round from
    the network as it is then (the windows it now scores highest are the look-alikes it still
    confuses); the negatives of every round stay in the pool, and each round's record says how
    often the network's top window was the lesion on the development films it mined."""
    index, canvases, located, normals = training_setup(pack, work, seed=seed)
    n_lesions = len(lesions_of(index, located))
    total = epochs * rounds
    steps = total * math.ceil(n_lesions * 4 / batch_size)
    patch_model, trainer = build_trainer(learning_rate=learning_rate, steps=steps,
                                         warmup=min(50, steps // 10), weight_decay=0.05)
    state = start_or_resume(patch_model, trainer, work, start_weights, prefix="hard",
                            before_key="base_heldout_patch_auc")
    state["hard_precision"] = training_precision()
    mine_path = work / "hard_negatives.json"
    rounds_path = work / "hard_rounds.json"
    mined: list[dict[str, Any]] = (json.loads(rounds_path.read_text())
                                   if rounds_path.is_file() else [])
    films = located + normals
    hard = [tuple(h) for m in mined for h in m["negatives"]]
    test_x, test_y = heldout_patches(index, canvases)
    for epoch in range(len(state["hard_epochs"]), total):
        r = epoch // epochs
        if len(mined) <= r:
            t0 = time.monotonic()
            if r == 0 and feats_path is not None and feats_path.is_file():
                kernel, bias = (np.asarray(v, np.float32) for v in
                                patch_model.get_layer("logit").get_weights())
                feats = np.load(feats_path, mmap_mode="r")
                masks = np.load(feats_path.with_suffix(".mask.npy"))
                found = mine_hard_negatives(index, feats, masks, kernel[:, 0], float(bias[0]),
                                            films)
                share: dict[str, Any] = {}
            else:
                found, share = mine_live(onnx_window_logits(patch_model, work), index,
                                         canvases, films)
            mined.append({"round": r + 1, "negatives": found, "dev_top_window_in_lesion": share,
                          "seconds": round(time.monotonic() - t0)})
            rounds_path.write_text(json.dumps(mined))
            log(f"round {r + 1}: {len(found)} hard negatives mined from {len(films)} development "
                f"films ({time.monotonic() - t0:.0f} s); top window in the lesion {share}")
            hard += [tuple(h) for h in found]
            mine_path.write_text(json.dumps(hard))
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
        entry = {"epoch": epoch + 1, "round": r + 1, "loss": float(hist.history["loss"][-1]),
                 "patches": len(y), "hard_negatives": len(hx), "pool": len(hard),
                 "seconds": round(time.monotonic() - te, 1),
                 "heldout_patch_auc_eval_mode": patch_auc(trainer, test_x, test_y)}
        record_epoch(state, entry, prefix="hard", trainer=trainer, patch_model=patch_model,
                     work=work, log=log)
    held_out = film_rows(index, test=True)[0]
    scored = score_windows(onnx_window_logits(patch_model, work), canvases, held_out)
    state["heldout_top_window_in_lesion"] = {
        name: top_window_share(index, {i: v for i, v in scored.items()
                                       if index["samples"][i]["dataset"] == name})
        for name in ("ddsm", "mias")}
    log(f"held-out top window in the lesion: {state['heldout_top_window_in_lesion']}")
    recipe = {
        "epochs": total, "rounds": rounds, "epochs_per_round": epochs,
        "learning_rate": learning_rate, "per_image": 3, "jitter_px": jitter,
        "mined": [len(m["negatives"]) for m in mined],
        "dev_top_window_in_lesion_by_round": [m["dev_top_window_in_lesion"] for m in mined],
        "from": "development films (DDSM, mini-MIAS), stage-1 windows clear of every finding, "
                "highest stage-1 logits; later rounds mined by the fine-tuned network"}
    return close(state, held_out_auc=patch_auc(trainer, test_x, test_y), test_y=test_y,
                 recipe_key="hard_negative_finetune", recipe=recipe, patch_model=patch_model,
                 work=work, log=log)


__all__ = ["clear_top_windows", "finetune", "mine_hard_negatives", "mine_live",
           "onnx_window_logits", "score_windows", "top_window_share"]
