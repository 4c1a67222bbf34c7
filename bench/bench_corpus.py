"""The bad-inputs figure: every kind of the corpus (tests/corpus) through ``mammo predict``.

    .venv/bin/python bench/bench_corpus.py [--model DIR] [--many 10000] [--keep DIR]

Writes the corpus (empty, truncated, renamed, bombs, odd DICOM, links, pipes, odd names...)
mixed with valid images into a throw-away folder, gives a private store a few readings, then
runs ``mammo predict`` on the folder as a user would (a subprocess, text output, a strict
UTF-8 terminal) and judges every kind: a bad file must get exactly one line that names it and
gives the kind's reason, without a traceback; a valid-but-odd one (16-bit PNG, CMYK JPEG...)
must be scored. Prints:

- kinds tried;
- kinds with a clear error (one line, no traceback, names the file, the expected reason);
- kinds read as valid;
- readings lost: stored readings missing after the batch (must be 0), and whether every image
  read was kept;
- with ``--many N`` (default 10,000; 0 to skip): a folder of N tiny files, how many were
  answered, read and refused, and how long it took.

Exit 0 when every kind met its expectation and nothing was lost; 1 otherwise, listing what
failed. Without ``--model``, it builds the tiny untrained test model (tests/model_factory.py;
needs the ``train`` extras): its scores mean nothing, the figure is about the inputs.
``--keep DIR`` writes the corpus there and leaves it for a look by hand.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import load_settings  # noqa: E402
from core.store import Store  # noqa: E402
from tests.corpus.generate import (  # noqa: E402
    LIMITS,
    kinds,
    write_corpus,
    write_many_files,
    write_valid,
)
from tests.corpus.judge import judge_all, parse_predict_text, predict_env, run_predict  # noqa: E402


def stored_ids(home: Path) -> set[str]:
    settings = load_settings(data_dir=home / "data" / "mammo-workstation")
    with Store.open(settings.store_path) as store:
        return {reading.id for reading in store.list_readings()}


def tiny_model(folder: Path) -> Path:
    from tests.model_factory import make_tiny_model_dir

    return make_tiny_model_dir(folder)


def corpus_figure(work: Path, model: Path) -> list[str]:
    """Print the corpus figure; the problems found (empty when everything held)."""
    made = write_corpus(work / "in")
    valid = write_valid(work / "in" / "valid", 3)
    env = predict_env(work, max_file_bytes=LIMITS["max_file_bytes"])
    seed = run_predict([write_valid(work / "earlier", 3, first=500)[0].parent], model=model,
                       env=env)
    if seed.returncode != 0:
        return [f"the store could not be given its first readings: {seed.stderr.decode()}"]
    before = stored_ids(work)

    started = time.perf_counter()
    run = run_predict([work / "in"], model=model, env=env)
    seconds = time.perf_counter() - started

    problems = []
    stderr = run.stderr.decode(errors="replace")
    if run.returncode != 2 or "Traceback" in stderr or "unexpected error" in stderr:
        problems.append(f"mammo predict exited {run.returncode}: {stderr.strip()[-500:]}")
    results = parse_predict_text(run.stdout)
    verdicts = judge_all(made, kinds(), results)
    problems += [f"{v.kind.name}: {v.problem}" for v in verdicts if not v.ok]
    problems += [f"valid image {p.name} was not read" for p in valid
                 if not (results.get(str(p)) and results[str(p)].read)]
    extra = len(results) - len(made) - len(valid)
    if extra:
        problems.append(f"{extra} result lines for files that were not given")
    after = stored_ids(work)
    lost = len(before - after)
    read = sum(said.read for said in results.values())
    if lost or len(after) != len(before) + read:
        problems.append(f"store: {len(before)} readings before, {len(after)} after, {read} read")

    clear = sum(v.ok and v.kind.expect == "refused" for v in verdicts)
    refused = sum(v.kind.expect == "refused" for v in verdicts)
    as_valid = sum(v.ok and v.kind.expect == "read" for v in verdicts)
    print(f"{'kinds tried':<28} {len(verdicts):>6}")
    print(f"{'clear error':<28} {clear:>6} of {refused} (one line, no traceback, names the "
          "file, the kind's reason)")
    print(f"{'read as valid':<28} {as_valid:>6} of {len(verdicts) - refused}")
    print(f"{'readings lost':<28} {lost:>6} ({len(before)} stored before; {len(after)} after "
          f"a batch of {len(results)} files, {read} read and kept)")
    print(f"{'batch time':<28} {seconds:>6.1f} s (model load included)")
    return problems


def many_figure(work: Path, model: Path, count: int) -> list[str]:
    valid, broken = write_many_files(work / "many", count)
    env = predict_env(work / "many-home", max_file_bytes=LIMITS["max_file_bytes"])
    started = time.perf_counter()
    run = run_predict([work / "many"], model=model, env=env, timeout=1800)
    seconds = time.perf_counter() - started
    results = parse_predict_text(run.stdout)
    read = sum(said.read for said in results.values())
    refused = sum(not said.read and bool(said.message) for said in results.values())
    print(f"{f'{count:,}-file folder':<28} {len(results):>6} answered: {read} read, "
          f"{refused} refused, in {seconds:.1f} s")
    stderr = run.stderr.decode(errors="replace")
    if (len(results), read, refused) != (count, valid, broken) or "Traceback" in stderr:
        return [f"{count:,}-file folder: {len(results)} answered ({read} read, {refused} "
                f"refused), expected {valid} read and {broken} refused; {stderr[-300:]}"]
    return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a model folder (default: the tiny test model)")
    ap.add_argument("--many", type=int, default=10_000, help="files in the big folder; 0: none")
    ap.add_argument("--keep", type=Path, help="write everything here and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="mammo-corpus-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        model = args.model or tiny_model(work / "tiny-model")
        problems = corpus_figure(work, model)
        if args.many:
            problems += many_figure(work, model, args.many)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print(f"FAILED {problem}")
    print("all kinds held" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
