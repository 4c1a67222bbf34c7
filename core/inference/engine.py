"""Inference engines: the same patch model run by ONNX Runtime or by TensorFlow.

Both return, for a batch of ``(n, 128, 128, 1)`` float32 patches in [0, 1], the patch score
``(n,)`` and the last feature map ``(n, h, w, c)``; the heatmap is computed from the feature
map the same way whichever engine ran. Frameworks are imported here, lazily, and nowhere else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from core.errors import InferenceError, ModelLoadError
from core.inference.manifest import ModelManifest

EngineName = Literal["auto", "onnx", "tf"]
DeviceName = Literal["auto", "cpu", "gpu"]


class Engine(Protocol):
    name: str
    device: str

    def run(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class OnnxEngine:
    """ONNX Runtime: CUDA or DirectML when present and allowed, else the CPU."""

    name = "onnx"

    def __init__(self, path: Path, *, device: DeviceName = "auto", threads: int | None = None
                 ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelLoadError("ONNX Runtime is not installed; choose the TensorFlow engine.") \
                from exc
        available = ort.get_available_providers()
        gpu = [p for p in ("CUDAExecutionProvider", "DmlExecutionProvider") if p in available]
        if device == "gpu" and not gpu:
            raise ModelLoadError("No GPU is available to ONNX Runtime; set the device to auto "
                                 "or cpu.")
        providers = [*(gpu if device != "cpu" else []), "CPUExecutionProvider"]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.inter_op_num_threads = 1
        # Spinning threads degrade badly when another process loads the CPU (measured).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts,
                                                 providers=providers)
        except Exception as exc:
            raise ModelLoadError(f"The model file {path.name} could not be loaded by ONNX "
                                 "Runtime; reinstall the model.") from exc
        used = self._session.get_providers()[0]
        self.device = {"CUDAExecutionProvider": "gpu:cuda", "DmlExecutionProvider": "gpu:directml"
                       }.get(used, "cpu")
        self._input = self._session.get_inputs()[0].name
        outs = self._session.get_outputs()
        # The score has rank 2 (n, 1); the feature map rank 4.
        self._score = next(o.name for o in outs if len(o.shape) == 2)
        self._features = next(o.name for o in outs if len(o.shape) == 4)

    def run(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            score, feats = self._session.run([self._score, self._features],
                                             {self._input: patches.astype(np.float32)})
        except Exception as exc:
            raise InferenceError("The model failed on this image (ONNX Runtime).") from exc
        return np.asarray(score)[:, 0], np.asarray(feats)


class TensorFlowEngine:
    """TensorFlow with the Keras model traced once into a compiled ``tf.function``."""

    name = "tf"

    def __init__(self, path: Path, *, device: DeviceName = "auto") -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        try:
            import keras
            import tensorflow as tf
        except ImportError as exc:
            raise ModelLoadError("TensorFlow is not installed; choose the ONNX engine.") from exc
        gpus = tf.config.list_physical_devices("GPU")
        if device == "gpu" and not gpus:
            raise ModelLoadError("No GPU is available to TensorFlow; set the device to auto or "
                                 "cpu.")
        self._tf_device = "/GPU:0" if gpus and device != "cpu" else "/CPU:0"
        self.device = "gpu:cuda" if self._tf_device == "/GPU:0" else "cpu"
        try:
            with tf.device(self._tf_device):
                model = keras.saving.load_model(str(path), compile=False)
        except Exception as exc:
            raise ModelLoadError(f"The model file {path.name} could not be loaded by "
                                 "TensorFlow; reinstall the model.") from exc
        size = int(model.input_shape[1])
        spec = tf.TensorSpec((None, size, size, 1), tf.float32)
        self._tf = tf
        self._fn = tf.function(lambda x: model(x, training=False), input_signature=[spec],
                               jit_compile=False, reduce_retracing=True)
        self._model = model

    def run(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            with self._tf.device(self._tf_device):
                score, feats = self._fn(self._tf.constant(patches, dtype=self._tf.float32))
        except Exception as exc:
            raise InferenceError("The model failed on this image (TensorFlow).") from exc
        return score.numpy()[:, 0], feats.numpy()


def create_engine(manifest: ModelManifest, *, engine: EngineName = "auto",
                  device: DeviceName = "auto") -> Engine:
    """The requested engine, or for ``auto`` the fastest one available (ONNX Runtime, measured
    2x faster than TensorFlow on these CPUs and 20x lighter to load)."""
    if engine in ("onnx", "auto") and manifest.has_file("onnx"):
        try:
            return OnnxEngine(manifest.file("onnx"), device=device)
        except ModelLoadError:
            if engine == "onnx":
                raise
    if engine in ("tf", "auto") and manifest.has_file("keras"):
        return TensorFlowEngine(manifest.file("keras"), device=device)
    if engine == "tf":
        manifest.file("keras")  # raises with the reason: not listed, or not installed here
    raise ModelLoadError(f"The model {manifest.model_id} has no file for the {engine} engine.")
