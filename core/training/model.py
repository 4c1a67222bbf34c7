"""DenseNet121 patch classifier and the multiple-instance wrapper used to train it.

The patch model is what ships: ``(n, 128, 128, 1)`` in [0, 1] -> ``score`` (n, 1) and the last
feature map ``features`` (n, 4, 4, 1024). Its head is GlobalAveragePooling -> Dropout ->
Dense(1) -> sigmoid, so the class activation map ``features @ w + b`` averages exactly to the
patch logit and equals Grad-CAM.

The wrapper reads a whole canvas (image channel + finding-mask channel), augments both
together, cuts the grid of patches, and returns the image logit (log-mean-exp pooling of the
patch logits) and, for images with located malignant findings, the patch logits next to their
patch targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PATCH = 128
FEATURES = 1024
TRAIN_POOL_R = 2.0
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def training_precision(cpu_flags: set[str] | None = None, *, accelerator: bool | None = None
                       ) -> str:
    """The Keras dtype policy to train in: ``mixed_bfloat16`` where the hardware computes
    bfloat16 itself (a GPU, or a CPU with AVX-512 BF16 or AMX), ``float32`` elsewhere. On a
    CPU with AVX2 only, TensorFlow emulates bfloat16: a DenseNet121 training step on 128x128
    patches took 1,479 ms a patch there against 107 ms in float32 (2026-12-07,
    ``docs/model.md``). ``MAMMO_TRAIN_PRECISION`` overrides the choice."""
    import os

    forced = os.environ.get("MAMMO_TRAIN_PRECISION")
    if forced:
        return forced
    if accelerator is None:
        accelerator = _has_accelerator()
    if accelerator:
        return "mixed_bfloat16"
    if cpu_flags is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:  # not Linux: no way to tell, stay safe
            return "float32"
        cpu_flags = {f for line in text.splitlines() if line.startswith("flags")
                     for f in line.split(":", 1)[1].split()}
    return "mixed_bfloat16" if cpu_flags & set(BF16_CPU_FLAGS) else "float32"


def _has_accelerator() -> bool:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.default_backend() != "cpu"
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def build_patch_model(*, patch: int = PATCH, dropout: float = 0.3,
                      name: str = "densenet121_patch") -> Any:
    import keras

    inp = keras.Input((patch, patch, 1), name="patch")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_unit_range")(inp)
    base = keras.applications.DenseNet121(include_top=False, weights=None, input_tensor=x)
    features = base.output
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(features)
    dropped = keras.layers.Dropout(dropout, name="dropout")(pooled)
    logit = keras.layers.Dense(1, name="logit", dtype="float32")(dropped)
    score = keras.layers.Activation("sigmoid", name="score", dtype="float32")(logit)
    features32 = keras.layers.Activation("linear", name="features", dtype="float32")(features)
    return keras.Model(inp, [score, features32], name=name)


def build_ensemble_patch_model(members: list[Any], *, patch: int = PATCH) -> Any:
    """Average of patch models' logits, as one model with the same contract.

    The members' feature maps are concatenated and the head is their Dense layers stacked and
    scaled by 1/k, so the ensemble's head is again GlobalAveragePooling -> Dense(1) -> sigmoid:
    its logit is exactly the mean of the members' logits, and its class activation map is the
    mean of theirs. Dropout is not repeated (it does nothing at inference)."""
    import keras

    k = len(members)
    inp = keras.Input((patch, patch, 1), name="patch")
    feats = [m(inp)[1] for m in members]
    features = feats[0] if k == 1 else keras.layers.Concatenate(name="concat")(feats)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(features)
    dense = keras.layers.Dense(1, name="logit", dtype="float32")
    logit = dense(pooled)
    score = keras.layers.Activation("sigmoid", name="score", dtype="float32")(logit)
    out_features = keras.layers.Activation("linear", name="features", dtype="float32")(features)
    kernels, biases = zip(*(m.get_layer("logit").get_weights() for m in members), strict=True)
    dense.set_weights([np.concatenate(kernels, axis=0) / k,
                       np.array([sum(float(b[0]) for b in biases) / k], dtype=np.float32)])
    return keras.Model(inp, [score, out_features], name=f"densenet121_patch_ensemble{k}")


def logit_submodel(patch_model: Any) -> Any:
    import keras

    return keras.Model(patch_model.input, patch_model.get_layer("logit").output)


def _layers() -> dict[str, type]:
    import keras
    from keras import ops

    class Patchify(keras.layers.Layer):
        """(b, n*p, n*p, c) -> (b*n*n, p, p, c), row-major grid order."""

        def __init__(self, patch: int, **kw: Any) -> None:
            super().__init__(**kw)
            self.patch = patch

        def call(self, x: Any) -> Any:
            b = ops.shape(x)[0]
            size, ch = x.shape[1], x.shape[3]
            n = size // self.patch
            x = ops.reshape(x, (b, n, self.patch, n, self.patch, ch))
            x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
            return ops.reshape(x, (b * n * n, self.patch, self.patch, ch))

        def compute_output_shape(self, shape: tuple) -> tuple:
            return (None, self.patch, self.patch, shape[3])

    class IntensityJitter(keras.layers.Layer):
        """Random gamma and contrast on channel 0 only (the mask channel stays as it is)."""

        def __init__(self, seed: int, **kw: Any) -> None:
            super().__init__(**kw)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, x: Any, training: bool = False) -> Any:
            if not training:
                return x
            b = ops.shape(x)[0]
            img, rest = x[..., :1], x[..., 1:]
            gamma = ops.exp(keras.random.uniform((b, 1, 1, 1), -0.35, 0.35,
                                                 seed=self.seed_generator))
            gain = keras.random.uniform((b, 1, 1, 1), 0.85, 1.15, seed=self.seed_generator)
            noise = keras.random.normal(ops.shape(img), stddev=0.01, seed=self.seed_generator)
            img = ops.clip(ops.power(ops.clip(img, 1e-4, 1.0), gamma) * gain + noise, 0.0, 1.0)
            return ops.concatenate([img, rest], axis=-1)

    class Regroup(keras.layers.Layer):
        """(b*n*n, ...) -> (b, n*n, ...); a trailing axis of size 1 is dropped."""

        def __init__(self, n_patches: int, **kw: Any) -> None:
            super().__init__(**kw)
            self.n_patches = n_patches

        def call(self, x: Any) -> Any:
            rest = tuple(d for d in x.shape[1:] if d != 1)
            return ops.reshape(ops.cast(x, "float32"), (-1, self.n_patches, *rest))

        def compute_output_shape(self, shape: tuple) -> tuple:
            return (None, self.n_patches, *(d for d in shape[1:] if d != 1))

        def compute_output_spec(self, x: Any) -> Any:
            return keras.KerasTensor(self.compute_output_shape(x.shape), dtype="float32")

    class RandomAffine(keras.layers.Layer):
        """Random zoom and shift of all channels alike, written with ops that XLA compiles
        (Keras' RandomZoom/RandomTranslation opt out of jit)."""

        def __init__(self, seed: int, zoom: float = 0.1, shift: float = 0.06, **kw: Any) -> None:
            super().__init__(**kw)
            self.seed_generator = keras.random.SeedGenerator(seed)
            self.zoom, self.shift = zoom, shift

        def call(self, x: Any, training: bool = False) -> Any:
            if not training:
                return x
            b = ops.shape(x)[0]
            size = float(x.shape[1])
            s = keras.random.uniform((b, 1), 1 - self.zoom, 1 + self.zoom,
                                     seed=self.seed_generator)
            t = keras.random.uniform((b, 2), -self.shift, self.shift,
                                     seed=self.seed_generator) * size
            centre = (size - 1) / 2
            zeros = ops.zeros((b, 1))
            # output (x, y) reads input (s*x + tx', s*y + ty') with zoom about the centre
            tx = centre * (1 - s) + t[:, :1]
            ty = centre * (1 - s) + t[:, 1:]
            transform = ops.concatenate([s, zeros, tx, zeros, s, ty, zeros, zeros], axis=1)
            out = ops.image.affine_transform(ops.cast(x, "float32"), transform,
                                             interpolation="bilinear", fill_mode="constant")
            return ops.cast(out, x.dtype)

    class PatchTargets(keras.layers.Layer):
        """Mask patches (b*n*n, p, p, 1) -> (b, n*n): 1 where a finding covers the patch."""

        def __init__(self, n_patches: int, **kw: Any) -> None:
            super().__init__(**kw)
            self.n_patches = n_patches

        def call(self, m: Any) -> Any:
            covered = ops.max(ops.cast(m, "float32"), axis=(1, 2, 3))
            return ops.reshape(ops.cast(covered > 0.5, "float32"), (-1, self.n_patches))

        def compute_output_spec(self, m: Any) -> Any:
            return keras.KerasTensor((None, self.n_patches), dtype="float32")

    class LogMeanExp(keras.layers.Layer):
        def __init__(self, r: float, **kw: Any) -> None:
            super().__init__(**kw)
            self.r = r

        def call(self, x: Any) -> Any:
            x = ops.cast(x, "float32")
            lse = ops.logsumexp(self.r * x, axis=1, keepdims=True)
            return (lse - float(np.log(x.shape[1]))) / self.r

    class ClassActivationMap(keras.layers.Layer):
        """features (b, h, w, c) and the head's Dense layer -> logit map (b, h, w)."""

        def __init__(self, dense: Any, **kw: Any) -> None:
            super().__init__(**kw)
            self.dense = dense

        def call(self, f: Any) -> Any:
            k = ops.cast(self.dense.kernel, f.dtype)
            return ops.einsum("bhwc,co->bhwo", f, k)[..., 0] + ops.cast(self.dense.bias[0],
                                                                       f.dtype)

    return {"Patchify": Patchify, "IntensityJitter": IntensityJitter,
            "Regroup": Regroup, "PatchTargets": PatchTargets,
            "LogMeanExp": LogMeanExp, "RandomAffine": RandomAffine,
            "ClassActivationMap": ClassActivationMap}


def build_mil_models(patch_model: Any, *, canvas: int, patch: int = PATCH, seed: int = 0
                     ) -> tuple[Any, Any]:
    """Return ``(train_model, predict_model)`` sharing the patch model's weights.

    train_model: uint8 canvas (b, c, c, 2) -> {"image": logit (b, 1), "patch": (b, 2*n*n)}
    predict_model: uint8 canvas (b, c, c, 1) -> {"patch_logits": (b, n*n), "cam": (b, n*4, n*4)}
    """
    import keras
    from keras import ops

    L = _layers()
    n = canvas // patch
    n_patches = n * n
    logits_of = logit_submodel(patch_model)

    inp = keras.Input((canvas, canvas, 2), dtype="uint8", name="canvas")
    x = keras.layers.Rescaling(1.0 / 255.0, name="to_float")(inp)
    x = keras.layers.RandomFlip("vertical", seed=seed, name="aug_flip")(x)
    x = L["RandomAffine"](seed + 1, name="aug_affine")(x)
    x = L["IntensityJitter"](seed + 3, name="aug_intensity")(x)
    patches = L["Patchify"](patch, name="patchify")(x)
    img_patches = keras.layers.Lambda(lambda t: t[..., :1], name="image_channel")(patches)
    mask_patches = keras.layers.Lambda(lambda t: t[..., 1:], name="mask_channel")(patches)
    plog = L["Regroup"](n_patches, name="patch_logits", dtype="float32")(logits_of(img_patches))
    targets = L["PatchTargets"](n_patches, name="patch_targets", dtype="float32")(mask_patches)
    image_logit = L["LogMeanExp"](TRAIN_POOL_R, name="image", dtype="float32")(plog)
    patch_out = keras.layers.Concatenate(name="patch", dtype="float32")([plog, targets])
    train_model = keras.Model(inp, {"image": image_logit, "patch": patch_out})

    pin = keras.Input((canvas, canvas, 1), dtype="uint8", name="canvas1")
    px = keras.layers.Rescaling(1.0 / 255.0)(pin)
    pp = L["Patchify"](patch)(px)
    feats = patch_model(pp)[1]
    cam = L["ClassActivationMap"](patch_model.get_layer("logit"), dtype="float32")(feats)
    cam = L["Regroup"](n_patches, name="cam", dtype="float32")(cam)  # (b, n*n, 4, 4)
    # Without dropout the patch logit is exactly the mean of its activation map.
    p_logits = keras.layers.Lambda(lambda t: ops.mean(t, axis=(2, 3)), name="logits",
                                   dtype="float32")(cam)
    predict_model = keras.Model(pin, {"patch_logits": p_logits, "cam": cam})
    return train_model, predict_model


def patch_loss(valid: Any, y_pred: Any) -> Any:
    """Masked patch-level BCE; ``valid`` is 1 for images with located malignant findings."""
    from keras import ops

    n = ops.shape(y_pred)[1] // 2
    logits, targets = y_pred[:, :n], y_pred[:, n:]
    bce = ops.maximum(logits, 0) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.reshape(valid, (-1,)) * ops.mean(bce, axis=1)
