"""Preprocess data-set images once into a compact training pack.

A pack is a folder: ``index.json`` (samples, labels, patient split, finding positions on the
canvas) and one lossy WebP canvas per image (the shared preprocessing applied to the decoded
file). It is what travels to a GPU machine and what every training run reads.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.imaging import open_image
from core.inference.preprocess import CANVAS, PREPROCESSING_VERSION, preprocess
from core.training.data import Sample, load_folder

PACK_VERSION = 1
WEBP_QUALITY = 80
MAX_FILE_BYTES = 1 << 30
MAX_PIXELS = 400_000_000


def split_patients(samples: list[Sample], *, seed: int, test_share: float, folds: int
                   ) -> dict[str, int]:
    """Patient -> fold (0..folds-1) or -1 for the held-out test set, stratified by label."""
    by_patient: dict[str, int] = {}
    for s in samples:
        by_patient[s.patient_id] = max(by_patient.get(s.patient_id, 0), s.label)
    assign: dict[str, int] = {}
    rng = random.Random(seed)
    for label in (0, 1):
        # Sorted by a salted hash so the split depends on the seed only, not on file order.
        group = sorted((p for p, lab in by_patient.items() if lab == label),
                       key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
        rng.shuffle(group)
        n_test = round(len(group) * test_share)
        for i, p in enumerate(group):
            assign[p] = -1 if i < n_test else (i - n_test) % folds
    return assign


def _encode(canvas: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((canvas * 255.0 + 0.5).astype(np.uint8)).save(buf, "WEBP",
                                                                quality=WEBP_QUALITY)
    return buf.getvalue()


def _pack_one(sample: Sample, out: Path, canvas: int) -> dict[str, Any]:
    image = open_image(sample.path, max_file_bytes=MAX_FILE_BYTES, max_pixels=MAX_PIXELS)
    pre = preprocess(image.pixels, canvas=canvas)
    name = hashlib.sha256(sample.key.encode()).hexdigest()[:20] + ".webp"
    (out / name).write_bytes(_encode(pre.canvas))
    sx, sy = pre.geometry.scale_to_canvas()
    findings = []
    for f in sample.findings:
        cx, cy = pre.geometry.to_canvas(f.x, f.y)
        hw = f.radius if f.half_w is None else f.half_w
        hh = f.radius if f.half_h is None else f.half_h
        findings.append({"x": cx, "y": cy, "rx": hw * sx, "ry": hh * sy,
                         "box": f.half_w is not None,
                         "malignant": f.malignant, "orig": asdict(f)})
    return {"key": sample.key, "dataset": sample.dataset, "patient_id": sample.patient_id,
            "label": sample.label, "file": name, "pixel_sha256": image.meta.pixel_sha256,
            "width": image.meta.width, "height": image.meta.height,
            "inverted": pre.geometry.inverted, "flipped": pre.geometry.flipped,
            "findings": findings}


def build_pack(data_dirs: list[Path], out: Path, *, seed: int = 0, test_share: float = 0.2,
               folds: int = 5, canvas: int = CANVAS, limit: int | None = None,
               workers: int = 2) -> Path:
    """Preprocess every image of ``data_dirs`` into ``out``; returns the index path."""
    samples: list[Sample] = []
    for d in data_dirs:
        found = load_folder(Path(d))
        if limit:
            rng = random.Random(seed)
            found = sorted(found, key=lambda s: s.key)
            rng.shuffle(found)
            found = found[:limit]
        samples.extend(found)
    out.mkdir(parents=True, exist_ok=True)
    assign = split_patients(samples, seed=seed, test_share=test_share, folds=folds)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(lambda s: _pack_one(s, out, canvas), samples))
    for row in rows:
        row["fold"] = assign[row["patient_id"]]
    index = {"pack_version": PACK_VERSION, "preprocessing_version": PREPROCESSING_VERSION,
             "canvas": canvas, "seed": seed, "folds": folds, "test_share": test_share,
             "data_dirs": [str(d) for d in data_dirs], "samples": rows}
    path = out / "index.json"
    path.write_text(json.dumps(index))
    return path
