"""``mammo predict`` on the bad-inputs corpus mixed with good images: one clear line per bad
file, every good one scored, the batch goes on, no reading already stored is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from core.settings import load_settings
from core.store import Store
from tests.corpus.generate import LIMITS, kinds, write_corpus, write_many_files, write_valid
from tests.corpus.judge import Said, judge_all, parse_predict_text, predict_env, run_predict


def _stored_ids(data_home: Path) -> set[str]:
    with Store.open(load_settings(data_dir=data_home / "mammo-workstation").store_path) as store:
        return {reading.id for reading in store.list_readings()}


def test_the_corpus_through_mammo_predict_as_a_user_runs_it(tiny_model_dir, tmp_path):
    made = write_corpus(tmp_path / "in")
    valid = write_valid(tmp_path / "in" / "valid", 3)
    env = predict_env(tmp_path, max_file_bytes=LIMITS["max_file_bytes"])
    earlier = run_predict([tmp_path / "in" / "valid"], model=tiny_model_dir, env=env)
    assert earlier.returncode == 0, earlier.stderr.decode(errors="replace")
    stored = _stored_ids(tmp_path / "data")
    assert len(stored) == 3

    run = run_predict([tmp_path / "in"], model=tiny_model_dir, env=env)

    stderr = run.stderr.decode(errors="replace")
    assert run.returncode == 2, stderr  # some failed, the rest read
    assert "Traceback" not in stderr and "unexpected error" not in stderr
    results = parse_predict_text(run.stdout)
    verdicts = judge_all(made, kinds(), results)
    assert [f"{v.kind.name}: {v.problem}" for v in verdicts if not v.ok] == []
    assert all(results[str(path)].read for path in valid)
    assert len(results) == len(made) + len(valid)  # one line per file, nothing else
    read = sum(said.read for said in results.values())
    after = _stored_ids(tmp_path / "data")
    assert stored <= after  # nothing stored before is lost
    assert len(after) == len(stored) + read  # and every image read is kept
    assert f"{read} read, {len(results) - read} failed" in stderr


def test_the_corpus_through_mammo_predict_json(tiny_model_dir, isolated_env, capsys):
    made = write_corpus(isolated_env / "in")

    code = main(["predict", "--json", "--no-store", str(isolated_env / "in"), "--model",
                 str(tiny_model_dir), "--engine", "onnx"])

    rows = [row for row in map(json.loads, capsys.readouterr().out.splitlines()) if "path" in row]
    assert code == 2
    results = {row["path"]: Said(read="score" in row, message=row.get("error", ""))
               for row in rows}
    verdicts = judge_all(made, kinds(), results)
    assert [f"{v.kind.name}: {v.problem}" for v in verdicts if not v.ok] == []


@pytest.mark.slow
def test_a_folder_of_ten_thousand_files(tiny_model_dir, isolated_env, capsys):
    valid, broken = write_many_files(isolated_env / "many", 10_000)

    code = main(["predict", "--json", str(isolated_env / "many"), "--model",
                 str(tiny_model_dir), "--engine", "onnx"])

    rows = [row for row in map(json.loads, capsys.readouterr().out.splitlines()) if "path" in row]
    assert code == 2
    assert len(rows) == 10_000
    assert sum("score" in row for row in rows) == valid
    assert sum(bool(row.get("error")) for row in rows) == broken
    assert all("\n" not in row.get("error", "") for row in rows)
    assert len(_stored_ids(isolated_env / "data")) == valid
