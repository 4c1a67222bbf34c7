"""Write a model folder from a trained patch model: Keras file, ONNX export with the
feature-map output, the head's weights for the heatmap, and a hash-checked manifest."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.inference.manifest import MANIFEST_NAME, MANIFEST_VERSION, sha256_file


def export_model_folder(patch_model: Any, out: Path, manifest: dict[str, Any]) -> Path:
    """Save ``patch_model`` (inputs (n, s, s, 1); outputs [score, features]) into ``out``.

    ``manifest`` holds everything but ``files`` and ``manifest_version``, which are added here.
    Returns the manifest's path.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    out.mkdir(parents=True, exist_ok=True)
    size = int(patch_model.input_shape[1])
    patch_model(np.zeros((1, size, size, 1), dtype=np.float32), training=False)
    keras_path = out / "model.keras"
    patch_model.save(str(keras_path))
    onnx_path = out / "model.onnx"
    patch_model.export(str(onnx_path), format="onnx", verbose=False)
    dense = patch_model.get_layer("logit")
    kernel, bias = (np.asarray(v, dtype=np.float32) for v in dense.get_weights())
    head_path = out / "head.npz"
    np.savez(head_path, kernel=kernel, bias=bias)
    files = [{"role": role, "path": p.name, "sha256": sha256_file(p), "bytes": p.stat().st_size}
             for role, p in (("onnx", onnx_path), ("keras", keras_path), ("head", head_path))]
    data = {"manifest_version": MANIFEST_VERSION, **manifest, "files": files,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path = out / MANIFEST_NAME
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
