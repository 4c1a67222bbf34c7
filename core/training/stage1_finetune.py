"""What every stage-1 fine-tune (1b: hard negatives, 1c: a loss per cell) does around its
epochs: start from the weights before it (carrying their log) or resume from its own
checkpoint, record each epoch, and close with the held-out patch AUC and its recipe.

The fine-tune's log keeps the log of the network it started from, with that network's
held-out patch AUC under ``before_key``; its epochs go under ``<prefix>_epochs`` and the
optimizer's step under ``<prefix>_iterations``, so a resumed schedule goes on where it stopped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

CHECKPOINT = "stage1.weights.h5"
LOG = "stage1_log.json"


def start_or_resume(patch_model: Any, trainer: Any, work: Path, start_weights: Path, *,
                    prefix: str, before_key: str) -> dict[str, Any]:
    """The fine-tune's log, with ``patch_model`` holding the weights to go on from."""
    log_path, ckpt = work / LOG, work / CHECKPOINT
    if ckpt.is_file() and log_path.is_file():
        state = json.loads(log_path.read_text())
        patch_model.load_weights(str(ckpt))
        trainer.optimizer.iterations.assign(int(state.get(f"{prefix}_iterations", 0)))
        return state
    base_log = start_weights.parent / LOG
    state = json.loads(base_log.read_text()) if base_log.is_file() else {"epochs": []}
    state[before_key] = state.pop("heldout_patch_auc", None)
    state[f"{prefix}_epochs"] = []
    patch_model.load_weights(str(start_weights))
    return state


def record_epoch(state: dict[str, Any], entry: dict[str, Any], *, prefix: str, trainer: Any,
                 patch_model: Any, work: Path, log: Any) -> None:
    """Append one epoch's entry, checkpoint the weights and the log."""
    state[f"{prefix}_epochs"].append(entry)
    state[f"{prefix}_iterations"] = int(trainer.optimizer.iterations.numpy())
    patch_model.save_weights(str(work / CHECKPOINT))
    (work / LOG).write_text(json.dumps(state, indent=1))
    log(json.dumps(entry))


def close(state: dict[str, Any], *, held_out_auc: float, test_y: np.ndarray, recipe_key: str,
          recipe: dict[str, Any], patch_model: Any, work: Path, log: Any) -> dict[str, Any]:
    """The held-out patch AUC after the fine-tune, and its recipe, into the log; saved."""
    state["heldout_patch_auc"] = held_out_auc
    state["heldout_patches"] = int(len(test_y))
    state["heldout_lesion_patches"] = int(test_y.sum())
    state[recipe_key] = recipe
    (work / LOG).write_text(json.dumps(state, indent=1))
    patch_model.save_weights(str(work / CHECKPOINT))
    log(f"held-out patch AUC {state['heldout_patch_auc']:.3f}")
    return state


__all__ = ["close", "record_epoch", "start_or_resume"]
