"""The shipped fold ensemble is exactly the mean of its members, heatmap included."""

from __future__ import annotations

import numpy as np


def test_ensemble_logit_and_heatmap_are_the_members_mean():
    import keras

    from core.training.model import build_ensemble_patch_model, build_patch_model, logit_submodel

    keras.mixed_precision.set_dtype_policy("float32")
    keras.utils.set_random_seed(1)
    members = [build_patch_model(name=f"fold{k}") for k in range(2)]
    rng = np.random.default_rng(0)
    for m in members:  # distinct heads, or a swapped member would go unnoticed
        k, b = m.get_layer("logit").get_weights()
        m.get_layer("logit").set_weights([rng.normal(0, 0.05, k.shape).astype(np.float32),
                                          rng.normal(0, 1, b.shape).astype(np.float32)])
    ensemble = build_ensemble_patch_model(members)
    x = rng.random((3, 128, 128, 1)).astype(np.float32)

    member_logits = np.stack([np.asarray(logit_submodel(m)(x, training=False))[:, 0]
                              for m in members])
    assert abs(member_logits[0] - member_logits[1]).max() > 1e-3
    score, features = (np.asarray(t) for t in ensemble(x, training=False))
    expected = 1 / (1 + np.exp(-member_logits.mean(axis=0)))
    np.testing.assert_allclose(score[:, 0], expected, atol=1e-5)
    assert features.shape == (3, 4, 4, 2048)
    # the class activation map from the exported head averages to the ensemble's logit
    kernel, bias = ensemble.get_layer("logit").get_weights()
    cam = features @ kernel[:, 0] + bias[0]
    np.testing.assert_allclose(cam.mean(axis=(1, 2)), member_logits.mean(axis=0), atol=1e-4)
