"""Read a training pack (see :mod:`core.training.pack`); NumPy and Pillow only, so that it
runs on a GPU machine that has neither pydicom nor the rest of the app."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw


def finding_mask(row: dict[str, Any], canvas: int, *, malignant_only: bool = True) -> np.ndarray:
    """Uint8 mask (canvas, canvas) with ellipses over the row's located findings."""
    img = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(img)
    for f in row["findings"]:
        if malignant_only and not f["malignant"]:
            continue
        draw.ellipse([f["x"] - f["rx"], f["y"] - f["ry"], f["x"] + f["rx"], f["y"] + f["ry"]],
                     fill=255)
    return np.asarray(img)


def load_pack(index_path: Path, workers: int = 8) -> tuple[dict[str, Any], np.ndarray]:
    """Index and all canvases as uint8 ``(n, canvas, canvas)``."""
    index = json.loads(Path(index_path).read_text())
    folder = Path(index_path).parent

    def read(row: dict[str, Any]) -> np.ndarray:
        return np.asarray(Image.open(folder / row["file"]).convert("L"))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        canvases = np.stack(list(pool.map(read, index["samples"])))
    return index, canvases
