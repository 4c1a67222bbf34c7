"""A tiny, untrained model with the shipped model's interface, for engine and CLI tests.

Same input (the whole canvas, (n, 512, 512, 1)), same outputs (score, feature map with one
cell per 32 pixels), same head (GlobalAveragePooling -> Dropout -> Dense -> sigmoid), the same
map pooling, exported by the same code as the real model. Its scores mean nothing; it only
proves the plumbing.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def build_tiny_patch_model(size: int | None = None):
    import keras

    from core.inference.preprocess import CANVAS

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_dtype_policy("float32")
    size = size or CANVAS
    inp = keras.Input((size, size, 1), name="patch")
    x = keras.layers.Rescaling(2.0, offset=-1.0)(inp)
    for filters in (8, 12, 16, 24, 32):  # size -> size / 32
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    features = keras.layers.Activation("linear", name="features")(x)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(features)
    dropped = keras.layers.Dropout(0.3, name="dropout")(pooled)
    logit = keras.layers.Dense(1, name="logit")(dropped)
    score = keras.layers.Activation("sigmoid", name="score")(logit)
    return keras.Model(inp, [score, features])


def make_tiny_windows_model_dir(folder: Path, *, model_id: str = "tiny-windows-model",
                                threshold: float = 0.5, aggregation: str = "max") -> Path:
    """The windows layout (model v2b): 128x128 windows at stride 64, a (4, 4, H) cell map."""
    from core.inference.preprocess import CANVAS, PREPROCESSING_VERSION
    from core.inference.windows import STRIDE, WINDOW
    from core.training.export import export_model_folder

    export_model_folder(build_tiny_patch_model(WINDOW), folder, {
        "id": model_id, "input_size": WINDOW, "canvas": CANVAS,
        "layout": {"kind": "windows", "window": WINDOW, "stride": STRIDE, "tissue_level": 0.08,
                   "edge_weight": 0.1},
        "preprocessing_version": PREPROCESSING_VERSION, "threshold": threshold,
        "calibration": {"method": "platt", "a": 1.0, "b": 0.0},
        "aggregation": {"method": aggregation},
        "training": {"patients": ["rsna-105"]},
    })
    return folder


def make_tiny_model_dir(folder: Path, *, model_id: str = "tiny-test-model",
                        threshold: float = 0.5) -> Path:
    from core.inference.preprocess import CANVAS, PREPROCESSING_VERSION
    from core.training.export import export_model_folder

    export_model_folder(build_tiny_patch_model(), folder, {
        "id": model_id, "input_size": CANVAS, "canvas": CANVAS,
        "preprocessing_version": PREPROCESSING_VERSION, "threshold": threshold,
        "calibration": {"method": "platt", "a": 1.0, "b": 0.0},
        "aggregation": {"method": "map-win4-max"},
        "training": {"patients": ["rsna-105"]},
    })
    return folder
