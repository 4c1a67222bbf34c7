"""A model folder: ``manifest.json`` plus the files it lists, each with its SHA-256.

Loading checks every hash; a changed file, or a missing ONNX or head file, refuses the whole
model, so a tampered or half-copied model never scores an image. The Keras file is read only by
the TensorFlow engine and may be left out (the packaged workstation carries no TensorFlow and
ships without it); when present it must match its hash like the others.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelLoadError

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
# Roles whose file may be absent: the model then simply has no such file (``has_file``).
OPTIONAL_ROLES = frozenset({"keras"})
REQUIRED_KEYS = ("id", "files", "input_size", "canvas", "preprocessing_version", "threshold",
                 "calibration", "aggregation")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelManifest:
    folder: Path
    data: dict[str, Any]

    @property
    def model_id(self) -> str:
        return str(self.data["id"])

    @property
    def threshold(self) -> float:
        return float(self.data["threshold"])

    @property
    def input_size(self) -> int:
        return int(self.data["input_size"])

    @property
    def canvas(self) -> int:
        return int(self.data["canvas"])

    @property
    def layout(self) -> str:
        """How the canvas is cut for the network: "grid" (tiles of ``input_size``, or the whole
        canvas when ``input_size == canvas``) or "windows" (overlapping ``input_size`` windows,
        :mod:`core.inference.windows`). Older manifests have no key: "grid"."""
        layout = str(self.data.get("layout", {}).get("kind", "grid"))
        if layout not in ("grid", "windows"):
            raise ModelLoadError(f"The model uses a canvas layout ({layout!r}) this version of the "
                                 "app does not know; install a matching model or update the app.")
        return layout

    @property
    def stride(self) -> int:
        return int(self.data.get("layout", {}).get("stride", self.input_size))

    @property
    def edge_weight(self) -> float:
        """Windows layout: weight of a window's border cells in the heatmap (1.0: plain mean)."""
        return float(self.data.get("layout", {}).get("edge_weight", 1.0))

    @property
    def preprocessing_version(self) -> str:
        return str(self.data["preprocessing_version"])

    @property
    def aggregation(self) -> str:
        return str(self.data["aggregation"]["method"])

    @property
    def calibration(self) -> tuple[float, float]:
        cal = self.data["calibration"]
        if cal.get("method") != "platt":
            raise ModelLoadError(f"Unknown calibration method {cal.get('method')!r} in the model.")
        return float(cal["a"]), float(cal["b"])

    @property
    def sha256(self) -> str:
        """Hash of the manifest itself: it names every file's hash, so it identifies the model."""
        return sha256_file(self.folder / MANIFEST_NAME)

    def file(self, role: str) -> Path:
        for entry in self.data["files"]:
            if entry["role"] == role:
                path = self.folder / entry["path"]
                if role in OPTIONAL_ROLES and not path.is_file():
                    raise ModelLoadError(
                        f"This installation of the model {self.model_id} carries no {role} "
                        f"file ({entry['path']}); choose the ONNX engine.")
                return path
        raise ModelLoadError(f"The model {self.model_id} has no {role} file.")

    def has_file(self, role: str) -> bool:
        """Whether the manifest lists a file for ``role`` and it is installed."""
        return any(entry["role"] == role and (self.folder / entry["path"]).is_file()
                   for entry in self.data["files"])


def load_manifest(folder: Path, *, verify: bool = True) -> ModelManifest:
    """Read and check a model folder.

    Raises:
        ModelLoadError: no model installed, unreadable manifest, or a file missing or changed.
    """
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ModelLoadError(
            f"No trained model is installed at {folder} (no {MANIFEST_NAME}). Install the model "
            "folder or set model_dir in the settings; images are not scored without one."
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"The model manifest {path} cannot be read; reinstall the model.") \
            from exc
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ModelLoadError(f"The model manifest {path} lacks {', '.join(missing)}.")
    if int(data.get("manifest_version", 1)) > MANIFEST_VERSION:
        raise ModelLoadError("The model was made for a newer version of Mammo Workstation.")
    manifest = ModelManifest(folder=folder, data=data)
    if verify:
        for entry in data["files"]:
            f = folder / entry["path"]
            if not f.is_file():
                if entry["role"] in OPTIONAL_ROLES:
                    continue
                raise ModelLoadError(f"The model file {entry['path']} is missing from {folder}; "
                                     "reinstall the model.")
            if sha256_file(f) != entry["sha256"]:
                raise ModelLoadError(
                    f"The model file {entry['path']} does not match its manifest: it was changed "
                    "or damaged. Reinstall the model; it will not be used as it is."
                )
    return manifest
