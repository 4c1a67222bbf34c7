"""The PACS end to end (``pacs_e2e_flow.py``), run in a fresh interpreter.

In the full suite the flow's retrieve never reached "read" (a 120 s wait timed out) while it
passes on its own and after every e2e and PACS test tried with it: state left in this process
by an earlier test (not yet found) stalls it. A fresh interpreter makes the test prove the
flow itself; the interference is written down in the closing note of 2026-12-01 to be found.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FLOW = Path(__file__).with_name("pacs_e2e_flow.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_exams_from_the_pacs_are_read_signed_and_their_results_sent_back(tmp_path: Path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "flow"), str(FLOW)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
