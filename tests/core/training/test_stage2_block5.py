"""Stage 2 with block 5 fine-tuned: the block equals the patch network's own, the losses equal
the frozen-feature head's, training learns a planted signal, and the merged weights ship it."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.stage2_block5 import (
    BLOCK5_INPUT,
    DEFAULT_BLOCK5,
    batch_losses,
    build_block5,
    fit_block5,
    merge_block5,
    predict_cells_block5,
)
from core.training.stage2_windows import _peak_loss


@pytest.fixture(scope="module")
def patch_model():
    import keras

    from core.training.model import build_patch_model

    keras.mixed_precision.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    model = build_patch_model(patch=128, dropout=0.2)
    # Non-trivial BatchNorm statistics, so that copying them is tested too.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            rng = np.random.default_rng(len(layer.name))
            layer.set_weights([gamma, beta, rng.normal(0, 0.1, mean.shape).astype(np.float32),
                               rng.uniform(0.5, 2.0, var.shape).astype(np.float32)])
    return model


def _pool4_and_features(model, x):
    import keras

    sub = keras.Model(model.input, [model.get_layer(BLOCK5_INPUT).output,
                                    model.get_layer("features").output])
    return [np.asarray(v) for v in sub(x, training=False)]


def test_block5_reproduces_the_patch_networks_last_block(patch_model):
    x = np.random.default_rng(1).random((3, 128, 128, 1)).astype(np.float32)
    p4, feats = _pool4_and_features(patch_model, x)
    assert p4.shape == (3, 4, 4, 512)
    block = build_block5(patch_model)
    assert np.abs(np.asarray(block(p4, training=False)) - feats).max() < 1e-4
    # Its BatchNorm statistics stay stage 1's: the layers are frozen.
    import keras

    assert not any(layer.trainable for layer in block.layers
                   if isinstance(layer, keras.layers.BatchNormalization))


def test_the_segment_losses_equal_the_frozen_heads_peak_loss_and_pooling():
    import tensorflow as tf

    rng = np.random.default_rng(2)
    runs = [3, 5]
    z = rng.normal(size=(8, 4, 4)).astype(np.float32)
    seg = np.repeat([0, 1], runs).astype(np.int32)
    ct = np.zeros((8, 4, 4), np.float32)
    ct[1, 2, 2] = ct[4, 0, 1] = ct[4, 0, 2] = 1  # lesion cells: one in image 0, two in image 1
    batch = {"label": np.array([1.0, 0.0], np.float32),
             "image_weight": np.array([1.0, 1.0], np.float32),
             "located": np.array([1.0, 1.0], np.float32),
             "window_target": np.zeros(8, np.float32), "window_weight": np.zeros(8, np.float32),
             "cell_target": ct, "cell_weight": np.zeros((8, 4, 4), np.float32),
             "weights": np.array([0.0, 0.0, 1.0], np.float32)}
    l_image, l_peak = (float(v) for v in batch_losses(tf.constant(z), tf.constant(seg),
                                                       tf.constant(2), batch))
    # The peak loss of the frozen-feature head over the same cells, image by image.
    expected = []
    for a, b in ((0, 3), (3, 8)):
        y = np.stack([ct[a:b], np.ones_like(ct[a:b])], axis=-1)[None]
        expected.append(float(np.asarray(_peak_loss(y, z[None, a:b]))[0]))
    assert l_peak == pytest.approx(np.mean(expected), rel=1e-4)
    # The image logit: log-mean-exp (r = 4) of the window logits (their cell means).
    wl = z.reshape(8, -1).mean(axis=1)
    logits = [np.log(np.mean(np.exp(4 * wl[a:b]))) / 4 for a, b in ((0, 3), (3, 8))]
    bce = [np.log1p(np.exp(-logits[0])), np.log1p(np.exp(logits[1]))]
    assert l_image == pytest.approx(np.mean(bce), rel=1e-4)


def _planted(n: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    p4 = np.abs(rng.normal(0.0, 0.5, size=(n, k, 4, 4, 512))).astype(np.float16)
    y = (np.arange(n) % 2).astype(np.float32)
    for i in np.nonzero(y)[0]:
        p4[i, rng.integers(k), :, :, :64] += 1.5  # one "cancer" window per positive image
    masks = np.ones((n, k), bool)
    masks[:, -1] = False  # a window not run
    arrays = (y, np.ones(n, np.float32), np.zeros((n, k, 2), np.float32),
              np.zeros(n, np.float32), np.zeros((n, k, 4, 4, 2), np.float32))
    return p4, masks, arrays, y


def test_fine_tuning_block5_learns_a_planted_window_signal(patch_model):
    from core.metrics import roc_auc

    p4, masks, arrays, y = _planted(64, 6, 3)
    train, test = np.arange(48), np.arange(48, 64)
    model = fit_block5(patch_model, p4, masks, train, arrays,
                       {**DEFAULT_BLOCK5, "epochs": 4, "lr_block5": 3e-4}, seed=0,
                       log=lambda *_: None)
    cells = predict_cells_block5(model, p4, masks, test)
    assert np.all(cells[:, -1] == 0)  # windows not run are not scored
    z = cells[:, :-1].reshape(len(test), 5, -1).mean(axis=2).max(axis=1)
    assert roc_auc(y[test], z) > 0.85


def test_the_merged_weights_carry_the_tuned_block_into_the_shipped_graph(patch_model, tmp_path):
    import keras

    from core.training.model import build_patch_model

    patch_model.save_weights(str(tmp_path / "stage1.weights.h5"))
    block = build_block5(patch_model)
    rng = np.random.default_rng(4)
    for layer in block.layers:  # a "fine-tuned" block: every weight moved
        if layer.weights and not isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32)
                               for w in layer.get_weights()])
    block.save_weights(str(tmp_path / "block5.weights.h5"))
    merge_block5(tmp_path / "stage1.weights.h5", tmp_path / "block5.weights.h5",
                 tmp_path / "merged.weights.h5")
    merged = build_patch_model(patch=128, dropout=0.2)
    merged.load_weights(str(tmp_path / "merged.weights.h5"))
    x = rng.random((2, 128, 128, 1)).astype(np.float32)
    p4, before = _pool4_and_features(patch_model, x)
    p4_merged, after = _pool4_and_features(merged, x)
    assert np.abs(p4_merged - p4).max() < 1e-5  # blocks 1-4 are stage 1's
    assert np.abs(after - np.asarray(block(p4, training=False))).max() < 1e-4
    assert np.abs(after - before).max() > 1e-2  # and block 5 is the tuned one
