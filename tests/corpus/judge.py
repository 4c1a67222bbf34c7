"""Judging what the product said about each corpus kind, whichever way the file came in
(``mammo predict``, the app's import, the server's ``/predict``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.corpus.generate import Kind

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Said:
    """One file's result: read (scored), or refused with ``message``."""

    read: bool
    message: str = ""


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    said: Said | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def judge(kind: Kind, said: Said | None) -> Verdict:
    """Whether ``said`` is what ``kind`` expects: read when valid; else refused with one line
    (no traceback) that carries the kind's reason."""
    if said is None:
        return Verdict(kind, said, "no result at all: the file was skipped in silence")
    if said.read:
        problem = None if kind.expect == "read" else f"read, expected: {kind.reason}"
        return Verdict(kind, said, problem)
    if kind.expect == "read":
        return Verdict(kind, said, f"refused, expected read: {said.message}")
    if not said.message.strip() or "\n" in said.message.strip():
        return Verdict(kind, said, f"not one line: {said.message!r}")
    if "Traceback" in said.message or "Error:" in said.message:
        return Verdict(kind, said, f"a technical error, not a reason: {said.message!r}")
    if kind.reason not in said.message:
        return Verdict(kind, said, f"says {said.message!r}, expected {kind.reason!r}")
    return Verdict(kind, said, None)


def judge_all(made: Mapping[str, Path], kinds: tuple[Kind, ...], results: Mapping[str, Said]
              ) -> list[Verdict]:
    """One verdict per kind; ``results`` maps a reported path (as ``str``) to what was said."""
    return [judge(kind, results.get(str(made[kind.name]))) for kind in kinds]


def predict_env(home: Path, *, max_file_bytes: int) -> dict[str, str]:
    """Environment for a ``mammo predict`` of its own: a private home, settings and store."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAMMO_")}
    env.update({
        "HOME": str(home / "home"), "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_DIRS": str(home / "site"),
        "MAMMO_MAX_FILE_BYTES": str(max_file_bytes), "PYTHONPATH": str(REPO_ROOT),
        # A desktop's UTF-8 terminal (as en_US.UTF-8): strict, where an odd name used to fail.
        "PYTHONIOENCODING": "utf-8:strict",
    })
    return env


def run_predict(paths: list[Path], *, model: Path, env: Mapping[str, str], timeout: float = 240
                ) -> subprocess.CompletedProcess[bytes]:
    """``mammo predict PATH... --model MODEL --engine onnx`` as a user runs it (text output)."""
    command = [sys.executable, "-m", "app.cli", "predict", *map(str, paths), "--model",
               str(model), "--engine", "onnx"]
    return subprocess.run(command, capture_output=True, env=dict(env), timeout=timeout,
                          cwd=REPO_ROOT, check=False)


def parse_predict_text(stdout: bytes) -> dict[str, Said]:
    """``mammo predict``'s image lines, by path: ``PATH<TAB>ERROR<TAB>REASON`` or
    ``PATH<TAB>LABEL<TAB>score ...`` (the exam lines after them, ``exam ...``, are left out).
    Paths come back as the file system's bytes."""
    results: dict[str, Said] = {}
    for raw in stdout.splitlines():
        if raw.startswith(b"exam "):
            continue
        path, _, rest = os.fsdecode(raw).partition("\t")
        status, _, message = rest.partition("\t")
        results[path] = Said(read=False, message=message) if status == "ERROR" else Said(
            read=status in ("Positive", "Negative"), message=rest)
    return results
