"""The whole training pipeline on a handful of real images, for a step or two: pack, fold
runs, final run, choices on out-of-fold predictions, export, held-out evaluation, card."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from core.inference.classifier import Classifier
from core.inference.manifest import load_manifest
from tests.conftest import FIXTURES


@pytest.mark.slow
@pytest.mark.parametrize("ship", ["ensemble"])
def test_train_writes_a_loadable_hash_checked_model(tmp_path, isolated_env, capsys, ship):
    out = tmp_path / "models" / "smoke-model"
    work = tmp_path / "work"
    code = main(["train", "--out", str(out), "--work", str(work),
                 "--data", str(FIXTURES / "rsna"), "--data", str(FIXTURES / "mias"),
                 "--epochs", "1", "--cv-folds", "2", "--batch-size", "4", "--seed", "3",
                 "--ship", ship, "--recipe", "mil"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    manifest = load_manifest(out)  # checks every file's hash
    data = manifest.data
    assert data["aggregation"]["method"] in data["aggregation"]["oof_auc_by_method"]
    assert data["calibration"]["method"] == "platt"
    assert 0.0 <= data["threshold"] <= 1.0
    assert data["training"]["patients"] and data["training"]["cv_folds"] == 2
    assert data["training"]["ships"] == ship
    assert ("Ensemble of the 2" in data["architecture"]) == (ship == "ensemble")
    cv = data["metrics"]["cross_validation"]["all"]
    assert cv["images"] > 0 and "auc_ci" in cv
    assert (out / "MODEL_CARD.md").read_text().startswith(f"# Model card: {manifest.model_id}")
    assert (out / "reliability_cv.png").stat().st_size > 1000
    # the test patients are the only ones left out of training, and never trained on
    pack = json.loads((work / "pack" / "index.json").read_text())
    test_patients = {r["patient_id"] for r in pack["samples"] if r["fold"] < 0}
    assert not test_patients & set(data["training"]["patients"])
    # and the exported model scores an image with both engines alike
    image = sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[0]
    from core.imaging import open_image

    px = open_image(image, max_file_bytes=1 << 26, max_pixels=1 << 26).pixels
    a = Classifier.load(out, engine="onnx").predict([px])[0]
    b = Classifier.load(out, engine="tf").predict([px])[0]
    assert abs(a.score - b.score) < 1e-4
