"""Reading one mammogram end to end against the bare model cost, in the same run.

    python bench/bench_inference.py [--model DIR] [--images N]

Prints, per image: decode, preprocess, engine, pooling+heatmap, and the end-to-end time next
to the bare ONNX Runtime cost of the same number of 128x128 inputs in one batch (the ratio is
the overhead of everything that is not the network). Also TensorFlow's compiled function on the
same inputs. Without an installed model it times an untrained DenseNet121 export (timing
only: its scores mean nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.errors import ModelLoadError  # noqa: E402
from core.imaging import open_image  # noqa: E402
from core.inference.classifier import Classifier  # noqa: E402
from core.inference.engine import OnnxEngine, TensorFlowEngine  # noqa: E402
from core.inference.preprocess import CANVAS, PREPROCESSING_VERSION, preprocess, to_patches  # noqa: E402
from core.inference.windows import cut_windows, tissue_windows  # noqa: E402
from core.settings import bundled_model_dir  # noqa: E402


def timing_model(folder: Path) -> Path:
    from core.training.export import export_model_folder
    from core.training.model import build_patch_model

    # The shipped model's shape: DenseNet121 over the whole canvas, one input per image.
    export_model_folder(build_patch_model(patch=CANVAS), folder, {
        "id": "untrained-densenet121-for-timing", "input_size": CANVAS, "canvas": CANVAS,
        "preprocessing_version": PREPROCESSING_VERSION, "threshold": 0.5,
        "calibration": {"method": "platt", "a": 1.0, "b": 0.0},
        "aggregation": {"method": "map-win4-lse4"}})
    return folder


def best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    model = args.model or bundled_model_dir()
    try:
        clf = Classifier.load(model, engine="onnx")
    except ModelLoadError:
        print(f"no model at {model}: timing an untrained DenseNet121 export instead")
        model = timing_model(Path(tempfile.mkdtemp()) / "timing")
        clf = Classifier.load(model, engine="onnx")
    files = sorted((ROOT / "tests" / "fixtures").rglob("*.jpg"))[: args.images]
    files += sorted((ROOT / "tests" / "fixtures").rglob("*.pgm.gz"))[:2]
    n = len(files)
    t_decode = best(lambda: [open_image(f, max_file_bytes=1 << 28, max_pixels=1 << 28)
                             for f in files], args.repeat) / n
    images = [open_image(f, max_file_bytes=1 << 28, max_pixels=1 << 28) for f in files]
    t_pre = best(lambda: [preprocess(i.pixels) for i in images], args.repeat) / n
    size = clf.manifest.input_size
    if clf.manifest.layout == "windows":  # the breast windows the classifier runs
        canvases = [preprocess(i.pixels).canvas for i in images]
        patches = np.concatenate([cut_windows(c, window=size, stride=clf.manifest.stride)[
            tissue_windows(c, window=size, stride=clf.manifest.stride)][..., None]
            for c in canvases])
    else:
        patches = np.concatenate([to_patches(preprocess(i.pixels).canvas, patch=size)
                                  for i in images])
    per_image = len(patches) / n
    onnx = OnnxEngine(clf.manifest.file("onnx"), device="cpu")
    t_bare = best(lambda: onnx.run(patches), args.repeat) / n
    t_bare_one = best(lambda: onnx.run(patches[:1]), args.repeat * 4)
    t_e2e = best(lambda: [clf.predict([i.pixels for i in images])], args.repeat) / n
    t_e2e_file = best(lambda: clf.predict([open_image(f, max_file_bytes=1 << 28,
                                                      max_pixels=1 << 28).pixels
                                           for f in files]), args.repeat) / n
    tf = TensorFlowEngine(clf.manifest.file("keras"), device="cpu")
    t_tf = best(lambda: tf.run(patches), args.repeat) / n
    print(f"model {clf.info.model_id}; {n} images, {per_image:.1f} inputs of {size}x{size} each, "
          f"{os.cpu_count()} cores")
    print(f"  decode                  {t_decode * 1000:7.1f} ms/image")
    print(f"  preprocess              {t_pre * 1000:7.1f} ms/image")
    print(f"  bare ONNX, batched      {t_bare * 1000:7.1f} ms/image "
          f"({t_bare / per_image * 1000:.1f} ms per {size}x{size} input)")
    print(f"  bare ONNX, one input    {t_bare_one * 1000:7.1f} ms")
    print(f"  TensorFlow tf.function  {t_tf * 1000:7.1f} ms/image (ratio to ONNX "
          f"{t_tf / t_bare:.2f})")
    print(f"  classify (decoded)      {t_e2e * 1000:7.1f} ms/image  ratio to bare model "
          f"{t_e2e / t_bare:.2f}")
    print(f"  end to end from file    {t_e2e_file * 1000:7.1f} ms/image  ratio to bare model "
          f"{t_e2e_file / t_bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
