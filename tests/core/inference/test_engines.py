"""Both engines run the same exported model; the heatmap is exact Grad-CAM."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelLoadError
from core.imaging import open_image
from core.inference.classifier import Classifier
from core.inference.engine import OnnxEngine, TensorFlowEngine
from core.inference.manifest import load_manifest
from core.inference.preprocess import CANVAS, preprocess, to_patches
from tests.conftest import FIXTURES


def real_patches() -> np.ndarray:
    paths = sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[:2]
    paths += sorted((FIXTURES / "mias" / "pgm").glob("*.gz"))[:1]
    images = [open_image(p, max_file_bytes=1 << 28, max_pixels=1 << 28) for p in paths]
    # The shipped model reads the whole canvas as one input.
    return np.concatenate([to_patches(preprocess(i.pixels).canvas, patch=CANVAS)
                           for i in images])


def test_tf_and_onnx_agree_on_real_images(tiny_model_dir: Path):
    manifest = load_manifest(tiny_model_dir)
    patches = real_patches()
    s_onnx, f_onnx = OnnxEngine(manifest.file("onnx"), device="cpu").run(patches)
    s_tf, f_tf = TensorFlowEngine(manifest.file("keras"), device="cpu").run(patches)
    g = CANVAS // 32
    assert s_onnx.shape == (3,) and f_onnx.shape[:3] == (3, g, g)
    assert np.abs(s_onnx - s_tf).max() < 1e-4
    assert np.abs(f_onnx - f_tf).max() < 1e-3
    assert s_onnx.std() > 0  # different patches, different scores


def test_classifier_scores_agree_between_engines(tiny_model_dir: Path):
    pixels = [open_image(p, max_file_bytes=1 << 28, max_pixels=1 << 28).pixels
              for p in sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[:3]]
    a = Classifier.load(tiny_model_dir, engine="onnx").predict(pixels)
    b = Classifier.load(tiny_model_dir, engine="tf").predict(pixels)
    for pa, pb in zip(a, b, strict=True):
        assert abs(pa.score - pb.score) < 1e-4
        assert pa.heatmap_peak == pb.heatmap_peak
        assert pa.label in ("Positive", "Negative")
        assert 0 <= pa.heatmap_peak[0] < 640 and 0 <= pa.heatmap_peak[1] < 640


def test_cam_from_feature_map_equals_grad_cam(tiny_model_dir: Path):
    import keras
    import tensorflow as tf

    model = keras.saving.load_model(str(tiny_model_dir / "model.keras"), compile=False)
    logit_layer = model.get_layer("logit")
    patches = tf.constant(real_patches()[:3])
    with tf.GradientTape() as tape:
        _, feats = model(patches, training=False)
        tape.watch(feats)
        logit = logit_layer(model.get_layer("gap")(feats))
    grads = tape.gradient(logit, feats)
    alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # Grad-CAM channel weights
    grad_cam = tf.reduce_sum(alpha * feats, axis=-1).numpy()
    head = np.load(tiny_model_dir / "head.npz")
    cam = feats.numpy() @ head["kernel"][:, 0] + head["bias"][0]
    for g, c in zip(grad_cam, cam, strict=True):
        assert np.corrcoef(g.ravel(), c.ravel())[0, 1] > 0.9999
    # and the patch logit is exactly the mean of its activation map
    assert np.allclose(cam.mean(axis=(1, 2)), logit.numpy()[:, 0], atol=1e-5)


def test_tampered_model_file_is_refused(tiny_model_dir: Path, tmp_path: Path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    data = bytearray((copy / "head.npz").read_bytes())
    data[-20] ^= 0xFF
    (copy / "head.npz").write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="does not match its manifest"):
        Classifier.load(copy)


def test_missing_model_says_no_model_is_installed(tmp_path: Path):
    with pytest.raises(ModelLoadError, match="No trained model is installed"):
        Classifier.load(tmp_path / "nothing-here")


def test_missing_model_file_is_refused(tiny_model_dir: Path, tmp_path: Path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "model.onnx").unlink()
    with pytest.raises(ModelLoadError, match="missing"):
        Classifier.load(copy)


def test_the_keras_file_may_be_left_out_but_not_changed(tiny_model_dir: Path, tmp_path: Path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "model.keras").unlink()  # as in the packaged workstation
    pixels = [open_image(sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[0],
                         max_file_bytes=1 << 28, max_pixels=1 << 28).pixels]
    full = Classifier.load(tiny_model_dir, engine="onnx").predict(pixels)[0]
    assert Classifier.load(copy, engine="auto").predict(pixels)[0].score == full.score
    with pytest.raises(ModelLoadError, match="carries no keras file"):
        Classifier.load(copy, engine="tf")
    # a Keras file that is there must still match its hash
    (copy / "model.keras").write_bytes(b"not the model")
    with pytest.raises(ModelLoadError, match="does not match"):
        Classifier.load(copy)
