"""Plain factory functions and fakes for the app tests."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from core.inference.classifier import ModelInfo, Prediction
from core.inference.preprocess import PREPROCESSING_VERSION, Geometry
from core.store import ReadingRecord, Store, UserId

PASSWORD = "correct horse battery"
GRID = 12


def write_mammogram(path: Path, *, n: int = 0, size: tuple[int, int] = (96, 128)) -> Path:
    """A small grey PNG: dark background, a breast-like bright area, a blob placed by ``n``."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.where(xx < width * 0.6, 90, 10).astype(np.float64)
    cx, cy = 10 + (n * 7) % (width // 2), 15 + (n * 11) % (height - 30)
    image += 150 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 40.0)
    image += n  # each file gets different pixels (and so its own image record)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path, format="PNG")
    return path


def write_mammograms(folder: Path, count: int, *, prefix: str = "img", first: int = 0
                     ) -> list[Path]:
    """``count`` pictures numbered from ``first``: calls with overlapping numbers write the same
    pictures (pixels) again, which the app recognises as already read."""
    return [write_mammogram(folder / f"{prefix}{i - first:03d}.png", n=i)
            for i in range(first, first + count)]


def write_broken_files(folder: Path) -> list[Path]:
    """A text file named .png and an empty .dcm: both must become error rows."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.png"
    text.write_text("this is not an image")
    empty = folder / "empty.dcm"
    empty.write_bytes(b"")
    return [text, empty]


class FakeClassifier:
    """Deterministic stand-in for :class:`core.inference.classifier.Classifier`.

    The score is the image's mean brightness; the heatmap is the image averaged on a grid, so
    its peak is the brightest blob. With ``steps`` set, every ``predict`` call waits for one
    :meth:`allow` (or for cancellation, like the real one, which then returns nothing).
    """

    def __init__(self, *, threshold: float = 0.2, steps: bool = False) -> None:
        self.info = ModelInfo(model_id="fake-densenet-1", model_sha256="ab" * 32, engine="fake",
                              device="cpu", threshold=threshold,
                              preprocessing_version=PREPROCESSING_VERSION,
                              folder=Path("/nonexistent-model"))
        self._steps = threading.Semaphore(0) if steps else None
        self.calls = 0

    def allow(self, calls: int = 1) -> None:
        assert self._steps is not None
        for _ in range(calls):
            self._steps.release()

    def predict(self, pixels: Sequence[np.ndarray], *, cancel: threading.Event | None = None
                ) -> list[Prediction]:
        self.calls += 1
        if self._steps is not None:
            while not self._steps.acquire(timeout=0.01):
                if cancel is not None and cancel.is_set():
                    return []
        return [self._predict(px) for px in pixels]

    def _predict(self, px: np.ndarray) -> Prediction:
        h, w = px.shape
        score = float(np.clip(px.mean(), 0.0, 1.0))
        cells = np.asarray(Image.fromarray(px.astype(np.float32), mode="F")
                           .resize((GRID, GRID), Image.Resampling.BOX))
        heatmap = (cells - 0.5) * 8.0
        row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
        peak = ((col + 0.5) * w / GRID, (row + 0.5) * h / GRID)
        geometry = Geometry(width=w, height=h, flipped=False, inverted=False, box=(0, 0, w, h),
                            canvas=384)
        return Prediction(score=score,
                          label="Positive" if score >= self.info.threshold else "Negative",
                          threshold=self.info.threshold, image_logit=0.0,
                          patch_logits=np.zeros(9, dtype=np.float32), heatmap=heatmap,
                          heatmap_peak=(round(peak[0], 1), round(peak[1], 1)),
                          geometry=geometry)


def store_reading(store: Store, *, user_id: UserId, path: str, n: int, score: float = 0.7,
                  threshold: float = 0.5) -> ReadingRecord:
    """A reading stored directly (as an earlier session would have left it)."""
    from tests.core.store.factories import make_image_meta, make_new_reading

    image_id = store.add_image(make_image_meta(n, source_path=path))
    return store.add_reading(make_new_reading(
        image_id=image_id, user_id=user_id, score=score, threshold=threshold,
        label="Positive" if score >= threshold else "Negative"))


def write_model_folder(folder: Path) -> Path:
    """A model folder whose manifest checks (every file's hash matches), with stand-in bytes
    for the model file: enough for what only reads the manifest, no engine can run it."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model.onnx"
    model.write_bytes(b"stand-in for the ONNX graph")
    manifest = {
        "id": "stand-in-model", "input_size": 128, "canvas": 384,
        "preprocessing_version": PREPROCESSING_VERSION, "threshold": 0.5,
        "calibration": {"method": "platt", "a": 1.0, "b": 0.0}, "aggregation": {"method": "lse2"},
        "files": [{"path": model.name, "role": "onnx",
                   "sha256": hashlib.sha256(model.read_bytes()).hexdigest()}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder
