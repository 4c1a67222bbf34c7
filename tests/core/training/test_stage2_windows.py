"""Stage 2 over windows: lesion-window targets, masked pooling, a head that learns a planted
signal out of fold, and the shipped graph that equals the head."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.stage2_windows import (
    _peak_loss,
    build_head,
    cell_weights,
    fit_head,
    predict_cells,
    window_targets,
)

K = 49


def test_the_window_holding_the_lesion_centre_is_the_lesion_window():
    mask = np.ones(K, bool)
    row = {"findings": [{"x": 200.0, "y": 130.0, "rx": 20.0, "ry": 12.0, "box": True}]}
    target, weight = window_targets(row, mask, 512)
    # Window (row 1, col 2) spans x 128-256, y 64-192: centre (192, 128), core +-32.
    assert np.nonzero(target)[0].tolist() == [1 * 7 + 2]
    # Windows overlapping the box (+ margin) are not scored; those clear of it are tissue.
    assert weight[1 * 7 + 1] == 0 and weight[0] == 1 and weight[6 * 7 + 6] == 1
    assert weight[1 * 7 + 2] == pytest.approx(min(20.0, (weight == 1).sum()))
    # A window not run (background) is never scored.
    mask[0] = False
    assert window_targets(row, mask, 512)[1][0] == 0


SMALL = 9  # windows per image in the synthetic tests (the head takes any number)


def test_windows_not_run_do_not_enter_the_image_logit():
    head = build_head(SMALL, dims=64)
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(1, SMALL, 4, 4, 64)).astype(np.float32)
    mask = np.zeros((1, SMALL), np.float32)
    mask[0, :4] = 1
    out1 = head.predict({"features": feats, "mask": mask}, verbose=0)["image"]
    feats[0, 4:] = 100.0  # huge values in windows not run
    out2 = head.predict({"features": feats, "mask": mask}, verbose=0)["image"]
    assert out1 == pytest.approx(out2, abs=1e-5)


def test_the_head_learns_a_window_signal_it_is_given(tmp_path):
    import keras

    # Stage 1 trains in mixed bfloat16 and leaves that policy set; the head must not inherit it.
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        _learn_a_planted_signal()
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _learn_a_planted_signal() -> None:
    rng = np.random.default_rng(0)
    n = 96
    feats = (0.3 * rng.normal(size=(n, SMALL, 4, 4, 64))).astype(np.float16)
    y = (np.arange(n) % 2).astype(np.float32)
    direction = rng.normal(size=64).astype(np.float16)
    for i in np.nonzero(y)[0]:
        feats[i, rng.integers(SMALL)] += direction  # one cancer window per positive image
    masks = np.ones((n, SMALL), bool)
    arrays = (y, np.ones(n, np.float32), np.zeros((n, SMALL, 2), np.float32),
              np.zeros(n, np.float32), np.zeros((n, SMALL, 4, 4, 2), np.float32))
    train, test = np.arange(64), np.arange(64, n)
    model = fit_head(feats, masks, train, arrays, epochs=8, seed=0, lesion_weight=1.0,
                     batch_size=16)
    cells = predict_cells(cell_weights([model]), feats, test)
    z = cells.reshape(len(test), SMALL, -1).mean(axis=2).max(axis=1)
    from core.metrics import roc_auc

    assert roc_auc(y[test], z) > 0.9


def test_the_shipped_window_graph_folds_the_projection_into_the_head(tmp_path):
    """The app's cell logits (ONNX features @ head) equal the trained head applied to the
    projected stage-1 features."""
    import keras

    from core.training.model import build_patch_model
    from core.training.two_stage import build_shipped_windows_model

    keras.mixed_precision.set_dtype_policy("float32")
    keras.utils.set_random_seed(3)
    patch = build_patch_model(patch=128, dropout=0.2)
    patch.save_weights(str(tmp_path / "stage1.weights.h5"))
    dims = 8
    head = build_head(K, dims=dims, lesion_hidden=4)
    rng = np.random.default_rng(3)
    head.set_weights([rng.normal(scale=0.3, size=w.shape).astype(np.float32)
                      for w in head.get_weights()])
    np.savez(tmp_path / "head.npz", **cell_weights([head]))
    comps, _ = np.linalg.qr(rng.normal(size=(1024, dims)))
    mean = rng.normal(scale=0.1, size=1024)
    np.savez(tmp_path / "pca.npz", mean=mean.astype(np.float32),
             components=comps.astype(np.float32))
    shipped = build_shipped_windows_model(tmp_path / "stage1.weights.h5",
                                          tmp_path / "head.npz", tmp_path / "pca.npz")
    x = rng.random((2, 128, 128, 1)).astype(np.float32)
    _, hidden = shipped.predict(x, verbose=0)
    kernel, bias = shipped.get_layer("logit").get_weights()
    app_cells = hidden @ kernel[:, 0] + bias[0]
    raw = patch.predict(x, verbose=0)[1]
    z = ((raw - mean) @ comps).astype(np.float32)
    expected = 0.0
    for hid, out in (("hidden", "cam_conv"), ("hidden_lesion", "lesion_conv")):
        w_h, b_h = head.get_layer(hid).get_weights()
        w_c, b_c = head.get_layer(out).get_weights()
        expected = expected + np.maximum(z @ w_h + b_h, 0) @ w_c[:, 0] + b_c[0]
    np.testing.assert_allclose(app_cells, expected, rtol=1e-3, atol=1e-3)


def _random_head(seed: int, **kw):
    import keras

    keras.mixed_precision.set_dtype_policy("float32")
    keras.utils.set_random_seed(seed)
    head = build_head(SMALL, dims=16, **kw)
    rng = np.random.default_rng(seed)
    head.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32)
                      for w in head.get_weights()])
    return head


def test_the_cell_logit_sums_both_branches_and_averages_ensemble_members():
    import keras

    a, b = _random_head(1, lesion_hidden=8), _random_head(2, lesion_hidden=8)
    feats = np.random.default_rng(0).normal(size=(3, SMALL, 4, 4, 16)).astype(np.float32)
    x = {"features": feats, "mask": np.ones((3, SMALL), np.float32)}

    def total(head):
        return keras.Model(head.inputs, head.get_layer("cell_sum").output).predict(
            x, verbose=0)[..., 0]

    idx = np.arange(3)
    np.testing.assert_allclose(predict_cells(cell_weights([a]), feats, idx), total(a),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(predict_cells(cell_weights([a, b]), feats, idx),
                               (total(a) + total(b)) / 2, rtol=1e-4, atol=1e-4)
    # the lesion outputs are the lesion branch alone
    lesion = keras.Model(a.inputs, a.get_layer("lesion_conv").output).predict(x, verbose=0)
    np.testing.assert_allclose(a.predict(x, verbose=0)["cells"], lesion[..., 0], rtol=1e-5,
                               atol=1e-5)


def test_the_image_loss_never_trains_the_lesion_branch():
    import tensorflow as tf

    head = _random_head(4, lesion_hidden=8)
    feats = np.random.default_rng(1).normal(size=(2, SMALL, 4, 4, 16)).astype(np.float32)
    x = {"features": tf.constant(feats), "mask": tf.ones((2, SMALL))}
    lesion_vars = [v for n in ("hidden_lesion", "lesion_conv")
                   for v in head.get_layer(n).trainable_variables]
    cancer_vars = [v for n in ("hidden", "cam_conv")
                   for v in head.get_layer(n).trainable_variables]
    with tf.GradientTape(persistent=True) as tape:
        out = head(x, training=False)
        image = tf.reduce_sum(out["image"])
        cells = tf.reduce_sum(out["cells"])
    assert all(g is None or float(tf.reduce_max(tf.abs(g))) == 0
               for g in tape.gradient(image, lesion_vars))
    assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0
               for g in tape.gradient(image, cancer_vars))
    assert all(g is None or float(tf.reduce_max(tf.abs(g))) == 0
               for g in tape.gradient(cells, cancer_vars))


def test_the_peak_loss_is_the_softmax_mass_off_the_lesion_cells():
    z = np.zeros((2, SMALL, 4, 4), np.float32)
    y = np.zeros((2, SMALL, 4, 4, 2), np.float32)
    y[:, :2, ..., 1] = 1  # two windows run: 32 cells
    y[0, 0, 1, 1, 0] = y[0, 1, 2, 2, 0] = 1  # two of them in the box
    z[:, 5:] = 50.0  # windows not run never count, whatever their logits
    loss = np.asarray(_peak_loss(y, z))
    assert loss[0] == pytest.approx(np.log(32 / 2), abs=1e-4)
    assert loss[1] == 0  # no lesion cell: not scored
    z[0, 0, 1, 1] = 20.0  # the peak on a lesion cell: almost no loss
    assert float(np.asarray(_peak_loss(y, z))[0]) < 1e-4
    z[0, 0, 1, 1], z[0, 0, 3, 3] = 0.0, 20.0  # the peak off the box: a large loss
    assert float(np.asarray(_peak_loss(y, z))[0]) > 15


def test_the_peak_loss_alone_teaches_the_head_where_the_lesion_is():
    rng = np.random.default_rng(1)
    n = 96
    feats = (0.3 * rng.normal(size=(n, SMALL, 4, 4, 64))).astype(np.float16)
    lesion = rng.normal(size=64).astype(np.float16)
    where = [(rng.integers(SMALL), rng.integers(4), rng.integers(4)) for _ in range(n)]
    tc = np.zeros((n, SMALL, 4, 4, 2), np.float32)
    for i, (w, a, b) in enumerate(where):
        feats[i, w, a, b] += lesion
        tc[i, w, a, b, 0] = 1
    tc[..., 1] = 1
    masks = np.ones((n, SMALL), bool)
    arrays = (np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros((n, SMALL, 2), np.float32),
              np.ones(n, np.float32), tc)
    train, test = np.arange(64), np.arange(64, n)
    model = fit_head(feats, masks, train, arrays, epochs=10, seed=0, lesion_weight=0.0,
                     cell_weight=0.0, peak_weight=1.0, batch_size=16)
    cells = predict_cells(cell_weights([model]), feats, test)
    peaks = [np.unravel_index(int(np.argmax(c)), c.shape) for c in cells]
    hits = [tuple(int(v) for v in p) == tuple(int(v) for v in where[i])
            for p, i in zip(peaks, test, strict=True)]
    assert np.mean(hits) > 0.9
