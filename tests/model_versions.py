"""Plain factories for model versions: signing keys, small model folders (fake ones for the
server and the library, copies of the tiny real model for the end-to-end roll-out)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.inference.manifest import MANIFEST_NAME
from core.inference.preprocess import PREPROCESSING_VERSION
from server.services.model_signing import public_key_text, sign_folder


def make_key() -> tuple[Ed25519PrivateKey, str]:
    """A signing key and its public key text (as in ``model_public_keys``)."""
    key = Ed25519PrivateKey.generate()
    return key, public_key_text(key.public_key())


def make_fake_model_dir(folder: Path, *, model_id: str = "fake-model-1",
                        preprocessing_version: str = PREPROCESSING_VERSION,
                        size: int = 200_000, keras: bool = False) -> Path:
    """A model folder whose manifest lists an ONNX and a head file of random-looking bytes
    (``size`` bytes), hash-checked like a real one; no engine can run it."""
    folder.mkdir(parents=True, exist_ok=True)
    seed = hashlib.sha256(model_id.encode()).digest()
    onnx = (seed * (size // len(seed) + 1))[:size]
    files = {"onnx": ("model.onnx", onnx), "head": ("head.npz", seed + b"head")}
    if keras:
        files["keras"] = ("model.keras", seed + b"keras")
    entries = []
    for role, (name, data) in files.items():
        (folder / name).write_bytes(data)
        entries.append({"role": role, "path": name, "sha256": hashlib.sha256(data).hexdigest(),
                        "bytes": len(data)})
    write_manifest(folder, {
        "manifest_version": 1, "id": model_id, "input_size": 512, "canvas": 512,
        "preprocessing_version": preprocessing_version, "threshold": 0.5,
        "calibration": {"method": "platt", "a": 1.0, "b": 0.0},
        "aggregation": {"method": "map-win4-max"}, "files": entries,
        "metrics": {"held_out_test": {"rsna": {"auc": 0.81, "auc_ci": [0.75, 0.86]}}},
    })
    return folder


def write_manifest(folder: Path, data: dict[str, Any]) -> None:
    (folder / MANIFEST_NAME).write_text(json.dumps(data, indent=2) + "\n")


def derive_version(source: Path, folder: Path, **changes: Any) -> Path:
    """A copy of ``source`` with the same files and a manifest changed by ``changes`` (a new
    id, threshold or calibration: a new version with the same weights)."""
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("*.sig"))
    data = json.loads((folder / MANIFEST_NAME).read_text())
    data.update(changes)
    write_manifest(folder, data)
    return folder


def signed(folder: Path, key: Ed25519PrivateKey) -> Path:
    sign_folder(folder, key)
    return folder


def manifest_sha256(folder: Path) -> str:
    return hashlib.sha256((folder / MANIFEST_NAME).read_bytes()).hexdigest()
