"""Training speed of one DenseNet121 step on 128x128 patches in each Keras dtype policy.

    .venv/bin/python bench/bench_train_precision.py [--patches 96] [--batch 32]

Builds the stage-1 trainer (``core/training/stage1.py``) in ``float32`` and in
``mixed_bfloat16``, fits one warm-up batch, then times one epoch of ``--patches`` random
patches in each and prints milliseconds per patch, their ratio, and the policy
``training_precision()`` picks on this machine. On a CPU without native bfloat16 (AVX2 only)
TensorFlow emulates it: there the ratio was 13.8 (2026-12-07: 1,479 against 107 ms a patch on
2 AMD EPYC cores), which is why training picks its policy by hardware; on 2 AMD EPYC cores with
``avx512_bf16`` it was 1.00 (81 ms a patch in both, 2026-12-07), and bfloat16 is picked there.
Each policy runs in its own process, so that one cannot slow the other.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _one(policy: str, patches: int, batch: int) -> float:
    """Milliseconds per patch of a training epoch in ``policy`` (run in this process)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np

    from core.training.stage1 import build_trainer

    keras.mixed_precision.set_global_policy(policy)
    rng = np.random.default_rng(0)
    x = rng.random((patches, 128, 128, 1), np.float32)
    y = (rng.random(patches) > 0.5).astype(np.float32)
    _, trainer = build_trainer(learning_rate=1e-4, steps=100, warmup=5, weight_decay=0.05)
    trainer.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
    t0 = time.perf_counter()
    trainer.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return 1000 * (time.perf_counter() - t0) / patches


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patches", type=int, default=96)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--policy", help=argparse.SUPPRESS)  # the child process's job
    a = p.parse_args()
    if a.policy:
        print(json.dumps({"ms_per_patch": _one(a.policy, a.patches, a.batch)}))
        return 0
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    ms = {}
    for policy in ("float32", "mixed_bfloat16"):
        out = subprocess.run([sys.executable, __file__, "--policy", policy, "--patches",
                              str(a.patches), "--batch", str(a.batch)], env=env, check=True,
                             capture_output=True, text=True).stdout
        ms[policy] = json.loads(out.strip().splitlines()[-1])["ms_per_patch"]
        print(f"{policy:>15}: {ms[policy]:8.1f} ms per patch", flush=True)
    from core.training.model import training_precision

    print(f"mixed_bfloat16 / float32: {ms['mixed_bfloat16'] / ms['float32']:.2f}")
    print(f"training_precision() on this machine: {training_precision()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
