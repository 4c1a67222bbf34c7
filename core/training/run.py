"""Entry point of the training step alone (``python -m core.training.run``).

Used by ``mammo train`` and, without the rest of the app, on a GPU machine with Keras on JAX:
    python -m core.training.run --pack PACK --work WORK [--epochs N] [--seed S]
        [--time-budget SECONDS] [--resume]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.training.run")
    parser.add_argument("--pack", type=Path, required=True, help="pack folder (index.json)")
    parser.add_argument("--work", type=Path, required=True, help="output folder")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--time-budget", type=float, default=None)
    parser.add_argument("--cv-folds", type=int, default=None)
    parser.add_argument("--precision", default=None,
                        help="Keras dtype policy (default: by hardware, training_precision())")
    parser.add_argument("--ship", choices=["final", "ensemble"], default="final")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    from core.training.train import train

    train(args.pack / "index.json", args.work, epochs=args.epochs, seed=args.seed,
          batch_size=args.batch_size, learning_rate=args.learning_rate,
          time_budget=args.time_budget, cv_folds=args.cv_folds, resume=args.resume,
          precision=args.precision, ship=args.ship, log=lambda m: print(m, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
