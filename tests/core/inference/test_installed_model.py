"""The model committed under models/: intact, consistent across engines, honestly described."""

from __future__ import annotations

import numpy as np

from core.imaging import open_image
from core.inference.classifier import Classifier
from core.inference.manifest import load_manifest
from core.settings import bundled_model_dir
from tests.conftest import FIXTURES


def fixture_pixels() -> list[np.ndarray]:
    paths = sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))
    paths += sorted((FIXTURES / "mias" / "pgm").glob("*.gz"))
    return [open_image(p, max_file_bytes=1 << 28, max_pixels=1 << 28).pixels for p in paths]


def test_committed_model_files_match_their_manifest_hashes():
    manifest = load_manifest(bundled_model_dir())  # raises on any changed or missing file
    assert {f["role"] for f in manifest.data["files"]} == {"onnx", "keras", "head"}


def test_tf_and_onnx_give_the_same_scores_on_real_images():
    pixels = fixture_pixels()
    onnx = Classifier.load(bundled_model_dir(), engine="onnx").predict(pixels)
    tf = Classifier.load(bundled_model_dir(), engine="tf").predict(pixels)
    for a, b in zip(onnx, tf, strict=True):
        assert abs(a.score - b.score) < 1e-4
        assert a.label == b.label


def test_every_figure_in_the_manifest_has_an_interval():
    data = load_manifest(bundled_model_dir()).data
    reports = [*data["metrics"]["cross_validation"].values(),
               *data["metrics"]["held_out_test"].values()]
    checked = 0
    for report in reports:
        for key, value in report.items():
            if key in ("auc", "ece") or key.startswith("sensitivity_at_"):
                if key.endswith("_ci"):
                    continue
                lo, hi = report[key + "_ci"]
                assert lo <= value <= hi, key
                checked += 1
    assert checked >= 8
    assert data["metrics"]["held_out_test"], "no held-out evaluation recorded"


def test_held_out_patients_were_never_trained_on():
    data = load_manifest(bundled_model_dir()).data
    trained = set(data["training"]["patients"])
    held_out = set(data["split"]["test_patients"])
    assert trained and held_out and not trained & held_out
