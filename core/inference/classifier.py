"""From decoded images to calibrated scores and heatmaps, with any engine.

One mammogram -> shared preprocessing -> the network's inputs, as the manifest's layout says
(overlapping 128x128 breast windows, :mod:`core.inference.windows`; or a grid of patches, or
the whole canvas) -> engine (inputs of several images batched together) -> class activation
map per input from the feature map and the head's weights -> logits pooled as the manifest
says -> Platt calibration -> label at the manifest's threshold; the heatmap's peak is mapped
back to the original image's pixels.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.errors import InferenceError, ModelLoadError
from core.inference.aggregate import MAP_METHODS, aggregate, aggregate_map
from core.inference.engine import DeviceName, Engine, EngineName, create_engine
from core.inference.manifest import ModelManifest, load_manifest
from core.inference.preprocess import PREPROCESSING_VERSION, Geometry, preprocess, to_patches
from core.inference.windows import assemble_map, cut_windows, tissue_windows, window_logits
from core.metrics import sigmoid


@dataclass(frozen=True)
class Prediction:
    score: float  # calibrated probability that the image shows cancer
    label: str  # "Positive" | "Negative"
    threshold: float
    image_logit: float  # pooled, before calibration
    patch_logits: np.ndarray  # (n_patches,)
    heatmap: np.ndarray  # (grid, grid) logit map over the canvas
    heatmap_peak: tuple[float, float]  # (x, y) in the original image's pixels
    geometry: Geometry

    def heatmap_on_image(self, *, max_side: int = 1024) -> np.ndarray:
        """The heatmap as probabilities laid over the original image (downscaled so that its
        longer side is at most ``max_side``); zero outside the breast's crop."""
        g = self.geometry
        scale = min(1.0, max_side / max(g.width, g.height))
        w, h = max(1, round(g.width * scale)), max(1, round(g.height * scale))
        left, top, right, bottom = (round(v * scale) for v in g.box)
        out = np.zeros((h, w), dtype=np.float32)
        bw, bh = max(1, right - left), max(1, bottom - top)
        prob = sigmoid(self.heatmap).astype(np.float32)
        img = Image.fromarray(prob, mode="F").resize((bw, bh), Image.Resampling.BILINEAR)
        region = np.asarray(img)
        out[top:top + bh, left:left + bw] = region[: h - top, : w - left]
        return out[:, ::-1].copy() if g.flipped else out


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    model_sha256: str
    engine: str
    device: str
    threshold: float
    preprocessing_version: str
    folder: Path
    performance: str = ""  # how well it did on patients it never saw, from the manifest


def performance_summary(data: dict) -> str:
    """One line a radiologist can weigh a score by: held-out AUCs with their intervals."""
    parts = []
    for name, r in data.get("metrics", {}).get("held_out_test", {}).items():
        if "auc" in r and r.get("auc_ci"):
            parts.append(f"{name.upper()} AUC {r['auc']:.2f} ({r['auc_ci'][0]:.2f}-"
                         f"{r['auc_ci'][1]:.2f})")
    return ("held-out patients: " + ", ".join(parts)) if parts else "no held-out evaluation"


def heatmap_peak(cam: np.ndarray, *, canvas: int, refine: int = 4) -> tuple[float, float]:
    """Canvas (x, y) of the heatmap's maximum, found on the map upsampled bilinearly
    ``refine`` times (the overlay the reader sees), so the peak is not stuck to cell centres."""
    h, w = cam.shape
    img = Image.fromarray(np.ascontiguousarray(cam, dtype=np.float32), mode="F")
    up = np.asarray(img.resize((w * refine, h * refine), Image.Resampling.BILINEAR))
    row, col = np.unravel_index(int(np.argmax(up)), up.shape)
    return (col + 0.5) * canvas / up.shape[1], (row + 0.5) * canvas / up.shape[0]


class Classifier:
    """A loaded, hash-checked model and its engine. Thread-compatible: one job at a time."""

    def __init__(self, manifest: ModelManifest, engine: Engine, *, batch_size: int = 16) -> None:
        if manifest.preprocessing_version != PREPROCESSING_VERSION:
            raise ModelLoadError(
                f"The model expects preprocessing {manifest.preprocessing_version}, this version "
                f"of the app has {PREPROCESSING_VERSION}; install a matching model."
            )
        manifest.layout  # noqa: B018 - an unknown layout is refused at load, with the reason
        head = np.load(manifest.file("head"))
        self._w = head["kernel"].reshape(-1).astype(np.float32)
        self._b = float(np.asarray(head["bias"]).reshape(-1)[0])
        self._a, self._c = manifest.calibration
        self.manifest = manifest
        self.engine = engine
        self.batch_size = batch_size
        self.info = ModelInfo(model_id=manifest.model_id, model_sha256=manifest.sha256,
                              engine=engine.name, device=engine.device,
                              threshold=manifest.threshold,
                              preprocessing_version=manifest.preprocessing_version,
                              folder=manifest.folder,
                              performance=performance_summary(manifest.data))

    @classmethod
    def load(cls, folder: Path, *, engine: EngineName = "auto", device: DeviceName = "auto",
             batch_size: int = 16) -> Classifier:
        manifest = load_manifest(folder)
        return cls(manifest, create_engine(manifest, engine=engine, device=device),
                   batch_size=batch_size)

    def predict(self, pixels: Sequence[np.ndarray], *, cancel: threading.Event | None = None
                ) -> list[Prediction]:
        """Score display-ready grey images (float in [0, 1]); all patches run in batches.

        Raises:
            InferenceError: the engine failed, or an image cannot be brought to the canvas.
        """
        pres = []
        for px in pixels:
            try:
                pres.append(preprocess(px, canvas=self.manifest.canvas))
            except ValueError as exc:
                raise InferenceError(f"The image cannot be read by the model: {exc}.") from exc
        if not pres:
            return []
        if self.manifest.layout == "windows":
            return self._predict_windows(pres, cancel)
        patches = np.concatenate([to_patches(p.canvas, patch=self.manifest.input_size)
                                  for p in pres])
        feats = []
        for start in range(0, len(patches), self.batch_size):
            if cancel is not None and cancel.is_set():
                return []
            feats.append(self.engine.run(patches[start:start + self.batch_size])[1])
        cams = np.concatenate(feats).astype(np.float32) @ self._w + self._b  # (N, h, w)
        per_image = len(patches) // len(pres)
        return [self._finish(pre, cams[i * per_image:(i + 1) * per_image])
                for i, pre in enumerate(pres)]

    def _predict_windows(self, pres: list, cancel: threading.Event | None
                         ) -> list[Prediction]:
        """Overlapping windows centred on breast, batched across images; each image's window
        cell maps are laid back onto its canvas (:func:`core.inference.windows.assemble_map`)."""
        size, stride = self.manifest.input_size, self.manifest.stride
        masks = [tissue_windows(p.canvas, window=size, stride=stride) for p in pres]
        windows = np.concatenate([cut_windows(p.canvas, window=size, stride=stride)[m]
                                  for p, m in zip(pres, masks, strict=True)])[..., None]
        feats = []
        for start in range(0, len(windows), self.batch_size):
            if cancel is not None and cancel.is_set():
                return []
            feats.append(self.engine.run(windows[start:start + self.batch_size])[1])
        cams = np.concatenate(feats).astype(np.float32) @ self._w + self._b  # (N, h, w)
        out, start = [], 0
        for pre, mask in zip(pres, masks, strict=True):
            cells = cams[start:start + int(mask.sum())]
            start += len(cells)
            full = assemble_map(cells, mask, self.manifest.canvas, window=size, stride=stride,
                                edge_weight=self.manifest.edge_weight)
            logits = window_logits(cells)
            image_logit = float(aggregate(logits[None, :], self.manifest.aggregation)[0])
            out.append(self._result(pre, full, logits, image_logit))
        return out

    def _finish(self, pre: object, cam: np.ndarray) -> Prediction:
        n = int(round(np.sqrt(cam.shape[0])))
        h, w = cam.shape[1:]
        full = cam.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)
        patch_logits = cam.mean(axis=(1, 2))
        method = self.manifest.aggregation
        if method in MAP_METHODS:
            image_logit = aggregate_map(full, method)
        else:
            image_logit = float(aggregate(patch_logits[None, :], method)[0])
        return self._result(pre, full, patch_logits, image_logit)

    def _result(self, pre: object, full: np.ndarray, patch_logits: np.ndarray,
                image_logit: float) -> Prediction:
        assert hasattr(pre, "geometry")
        geometry: Geometry = pre.geometry  # type: ignore[attr-defined]
        score = float(sigmoid(self._a * image_logit + self._c))
        px, py = heatmap_peak(full, canvas=self.manifest.canvas)
        peak = geometry.to_original(px, py)
        threshold = self.manifest.threshold
        return Prediction(score=score, label="Positive" if score >= threshold else "Negative",
                          threshold=threshold, image_logit=image_logit,
                          patch_logits=patch_logits, heatmap=full,
                          heatmap_peak=(round(peak[0], 1), round(peak[1], 1)),
                          geometry=geometry)
