"""The two-stage recipe end to end on a handful of real images (DDSM, mini-MIAS, RSNA), for a
step or two: pack, gates, stage 1, window features, stage 2, export, held-out evaluation, card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from core.imaging import open_image
from core.inference.classifier import Classifier
from core.inference.manifest import load_manifest
from core.inference.windows import cut_windows
from core.training.stage2_windows import predict_cells
from tests.conftest import FIXTURES


@pytest.mark.slow
def test_two_stage_training_writes_a_model_that_scores_like_its_head(tmp_path, isolated_env,
                                                                     capsys):
    out = tmp_path / "models" / "two-stage-smoke"
    work = tmp_path / "work"
    code = main(["train", "--out", str(out), "--work", str(work), "--epochs", "1",
                 "--data", str(FIXTURES / "rsna"), "--data", str(FIXTURES / "mias"),
                 "--data", str(FIXTURES / "ddsm"), "--seed", "1", "--gate-scale", "0.1",
                 "--cell-epochs", "1", "--cell-holdout-fold", "-1", "--hard-rounds", "2"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    manifest = load_manifest(out)  # every file's hash checked
    data = manifest.data
    assert data["aggregation"]["method"] in ("mean", "lse1", "lse2", "lse4", "max")
    assert data["layout"]["kind"] == "windows" and data["input_size"] == 128
    assert data["canvas"] == 512
    assert set(data["validation"]["checks"]) >= {"cv_auc_ci_above_0.5",
                                                 "ddsm_peak_in_box_at_least_half"}
    gates = data["metrics"]["gates"]
    assert {"memorise", "synthetic", "shortcuts"} <= set(gates)
    assert data["training"]["stage1"]["heldout_patches"] > 0
    card = (out / "MODEL_CARD.md").read_text()
    assert "## Stage 1: what a lesion looks like" in card and "## Gates" in card
    # stage 1b then stage 1c ran, each from the one before, and the card says so
    stage1 = data["training"]["stage1"]
    assert stage1["hard_negative_finetune"] and stage1["cell_finetune"]["epochs"] == 1
    assert stage1["before_cells_heldout_patch_auc"] is not None
    assert "Stage 1b, hard negatives" in card and "Stage 1c, a loss per cell" in card
    # stage 1b ran two rounds: the first mined from the cached features, the second with the
    # fine-tuned network itself, and both rounds' negatives stayed in the pool
    hn = stage1["hard_negative_finetune"]
    assert hn["rounds"] == 2 and len(hn["mined"]) == 2 and min(hn["mined"]) > 0
    assert [e["round"] for e in stage1["hard_epochs"]] == [1, 2]
    assert stage1["hard_epochs"][1]["pool"] == sum(hn["mined"])
    assert hn["dev_top_window_in_lesion_by_round"][1]["images"] > 0
    assert stage1["heldout_top_window_in_lesion"]["ddsm"]["images"] > 0
    assert "2 rounds of 1 epoch, each round" in card
    # no test patient was trained on, in either stage
    pack = json.loads((work / "pack" / "index.json").read_text())
    test_patients = {r["patient_id"] for r in pack["samples"] if r["fold"] < 0}
    assert not test_patients & set(data["training"]["patients"])
    # the shipped ONNX model gives the head's cell logits over the cached stage-1 windows
    feats = np.load(work / "wfeats_pca.npy", mmap_mode="r")
    masks = np.load(work / "wfeats.mask.npy")
    head = dict(np.load(work / "stage2_head.npz"))
    i = next(i for i, r in enumerate(pack["samples"]) if r["dataset"] == "rsna")
    cached = predict_cells(head, feats, np.array([i]))[0][masks[i]]
    from PIL import Image

    canvas = np.asarray(Image.open(work / "pack" / pack["samples"][i]["file"]).convert("L"),
                        np.float32)
    clf = Classifier.load(out, engine="onnx")
    windows = cut_windows(canvas / 255.0)[masks[i]]
    _, fmap = clf.engine.run(windows[..., None].astype(np.float32))
    shipped = fmap @ clf._w + clf._b
    assert np.abs(shipped - cached).max() < 0.05 * (np.abs(cached).max() + 1)
    # and it reads a real image end to end
    px = open_image(sorted((FIXTURES / "ddsm" / "images").glob("*.jpg"))[0],
                    max_file_bytes=1 << 26, max_pixels=1 << 26).pixels
    pred = clf.predict([px])[0]
    assert 0 <= pred.score <= 1 and pred.heatmap.shape == (16, 16)
    _block5_variant(tmp_path, work, canvas, i)


def _block5_variant(tmp_path, work, canvas, i):
    """From the same stage 1, stage 2 with block 5 fine-tuned: the shipped graph carries the
    tuned block and the head (its cell logits are theirs over the cached block-5 inputs)."""
    import shutil

    from core.training.stage2_block5 import build_block5
    from core.training.two_stage import main as two_stage

    work5, out5 = tmp_path / "work5", tmp_path / "models" / "block5-smoke"
    shutil.copytree(work, work5, ignore=shutil.ignore_patterns("stage2_*", "wfeats*"))
    args = ["--work", str(work5), "--seed", "1", "--block5-epochs", "1", "--peak-weight", "1",
            "--block5-groups", "[[0, 1], [2, 3]]"]
    for d in ("rsna", "mias", "ddsm"):
        args += ["--data", str(FIXTURES / d)]
    for step in ("features", "stage2", "finish"):
        assert two_stage([step, *args, "--out", str(out5)]) == 0
    data = load_manifest(out5).data
    s2 = data["training"]["stage2"]
    assert s2["block5"] is True and s2["peak_weight"] == 1 and s2["cv_groups"] == [[0, 1], [2, 3]]
    card = (out5 / "MODEL_CARD.md").read_text()
    assert "last dense block" in card and "peak loss" in card
    assert (work5 / "stage2_oof.json").is_file()
    masks = np.load(work5 / "wfeats.mask.npy")
    p4 = np.load(work5 / "wfeats.p4.npy", mmap_mode="r")[i][masks[i]].astype(np.float32)
    block = build_block5()
    block.load_weights(str(work5 / "stage2_block5.weights.h5"))
    head = dict(np.load(work5 / "stage2_head.npz"))
    h = np.maximum(np.asarray(block(p4, training=False)) @ head["w_hidden"] + head["b_hidden"], 0)
    cached = h @ head["w_out"] + head["b_out"]
    clf = Classifier.load(out5, engine="onnx")
    _, fmap = clf.engine.run(cut_windows(canvas / 255.0)[masks[i]][..., None].astype(np.float32))
    shipped = fmap @ clf._w + clf._b
    assert np.abs(shipped - cached).max() < 0.05 * (np.abs(cached).max() + 1)
