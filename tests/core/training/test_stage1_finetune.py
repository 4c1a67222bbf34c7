"""A stage-1 fine-tune starts from the network before it, keeping its log, and resumes from its
own checkpoint with the optimizer's step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.training.stage1_finetune import close, record_epoch, start_or_resume


class _Var:
    def __init__(self) -> None:
        self.value = 0

    def assign(self, v: int) -> None:
        self.value = v

    def numpy(self) -> int:
        return self.value


class _Trainer:
    def __init__(self) -> None:
        self.optimizer = type("Opt", (), {})()
        self.optimizer.iterations = _Var()


class _Model:
    def __init__(self) -> None:
        self.loaded: list[str] = []

    def load_weights(self, path: str) -> None:
        self.loaded.append(path)

    def save_weights(self, path: str) -> None:
        Path(path).write_text("weights")


def test_a_fine_tune_starts_from_the_network_before_it_then_resumes(tmp_path):
    before, work = tmp_path / "before", tmp_path / "work"
    before.mkdir()
    work.mkdir()
    (before / "stage1.weights.h5").write_text("w")
    (before / "stage1_log.json").write_text(json.dumps({"epochs": [1], "heldout_patch_auc": 0.9}))
    model, trainer = _Model(), _Trainer()
    state = start_or_resume(model, trainer, work, before / "stage1.weights.h5", prefix="cell",
                            before_key="before_auc")
    assert state == {"epochs": [1], "before_auc": 0.9, "cell_epochs": []}
    assert model.loaded == [str(before / "stage1.weights.h5")]
    trainer.optimizer.iterations.assign(40)
    record_epoch(state, {"epoch": 1}, prefix="cell", trainer=trainer, patch_model=model,
                 work=work, log=lambda _: None)
    # a second start resumes: its own weights, its epochs, the optimizer's step
    model2, trainer2 = _Model(), _Trainer()
    again = start_or_resume(model2, trainer2, work, before / "stage1.weights.h5", prefix="cell",
                            before_key="before_auc")
    assert again["cell_epochs"] == [{"epoch": 1}] and again["before_auc"] == 0.9
    assert model2.loaded == [str(work / "stage1.weights.h5")]
    assert trainer2.optimizer.iterations.numpy() == 40
    done = close(again, held_out_auc=0.8, test_y=np.array([1, 0, 0]), recipe_key="cell_finetune",
                 recipe={"epochs": 1}, patch_model=model2, work=work, log=lambda _: None)
    saved = json.loads((work / "stage1_log.json").read_text())
    assert saved == done and saved["heldout_patch_auc"] == 0.8
    assert saved["heldout_patches"] == 3 and saved["heldout_lesion_patches"] == 1
