"""``--self-test``: passes on a sound installation, names what is wrong on a broken one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.selftest import (
    EXPECTED_NAME,
    SAMPLE_IMAGE,
    record_expected,
    run_self_test,
    sample_dir,
)
from core.settings import Settings, load_settings


@pytest.fixture
def samples(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """The shipped sample image and the score the tiny model gives it, as a build records."""
    folder = tmp_path / "sample"
    folder.mkdir()
    shutil.copy(sample_dir() / SAMPLE_IMAGE, folder / SAMPLE_IMAGE)
    record_expected(model_dir=tiny_model_dir, out_file=folder / EXPECTED_NAME, samples=folder)
    return folder


@pytest.fixture
def model_copy(tmp_path: Path, tiny_model_dir: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def settings_for(isolated_env: Path, model_dir: Path | None, **overrides: object) -> Settings:
    return load_settings(data_dir=isolated_env / "data", model_dir=model_dir, **overrides)


def run(settings: Settings | None, samples: Path, **kwargs: object) -> tuple[int, str]:
    lines: list[str] = []
    code = run_self_test(settings, out=lines.append, samples=samples,
                         require_recorded_score=True, **kwargs)
    return code, "\n".join(lines)


def failed_checks(report: str) -> list[str]:
    return [line.split()[1] for line in report.splitlines() if line.startswith("  FAIL")]


def test_a_sound_installation_passes_and_prints_versions(isolated_env, tiny_model_dir, samples):
    code, report = run(settings_for(isolated_env, tiny_model_dir), samples,
                       versions={"Qt": "6.x"})

    assert code == 0, report
    assert "Self-test passed." in report
    recorded = json.loads((samples / EXPECTED_NAME).read_text())["score"]
    assert f"= recorded {recorded:.6f}" in report
    for name in ("app", "model id", "engine", "device", "onnxruntime", "Qt"):
        assert f"       {name} " in report
    assert "tiny-test-model" in report
    # The user's own store is not created by a self-test; the data directory is.
    assert (isolated_env / "data").is_dir()
    assert not (isolated_env / "data" / "mammo.sqlite3").exists()


def test_a_tampered_model_fails(isolated_env, model_copy, samples):
    onnx = model_copy / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[-100] ^= 0xFF
    onnx.write_bytes(bytes(data))

    code, report = run(settings_for(isolated_env, model_copy), samples)

    assert code == 1
    assert failed_checks(report) == ["model"]
    assert "does not match its manifest" in report
    assert "  skip sample" in report  # nothing to score with: not a second failure
    assert "Self-test FAILED: model." in report


def test_a_score_that_differs_from_the_recorded_one_fails(isolated_env, tiny_model_dir,
                                                          samples):
    expected = json.loads((samples / EXPECTED_NAME).read_text())
    expected["score"] += 0.01
    (samples / EXPECTED_NAME).write_text(json.dumps(expected))

    code, report = run(settings_for(isolated_env, tiny_model_dir), samples)

    assert code == 1
    assert failed_checks(report) == ["sample"]
    assert f"this build recorded {expected['score']:.6f}" in report


def test_a_score_within_the_tolerance_passes(isolated_env, tiny_model_dir, samples):
    expected = json.loads((samples / EXPECTED_NAME).read_text())
    expected["score"] += 0.5e-4
    (samples / EXPECTED_NAME).write_text(json.dumps(expected))

    code, report = run(settings_for(isolated_env, tiny_model_dir), samples)

    assert code == 0, report


def test_an_unwritable_data_dir_fails(isolated_env, tiny_model_dir, samples):
    # A path below a regular file can be written by nobody, root included (CI runs as root).
    blocker = isolated_env / "not-a-folder"
    blocker.write_text("")
    settings = load_settings(data_dir=blocker / "data", model_dir=tiny_model_dir)

    code, report = run(settings, samples)

    assert code == 1
    assert failed_checks(report) == ["data"]
    assert f"the data directory {blocker / 'data'} cannot be written" in report


def test_a_packaged_build_without_its_recorded_score_fails(isolated_env, tiny_model_dir,
                                                           samples):
    (samples / EXPECTED_NAME).unlink()

    code, report = run(settings_for(isolated_env, tiny_model_dir), samples)

    assert code == 1
    assert failed_checks(report) == ["sample"]
    assert "is missing from this build" in report


def test_a_source_checkout_scores_the_sample_without_comparing(isolated_env, tiny_model_dir,
                                                               samples):
    (samples / EXPECTED_NAME).unlink()
    lines: list[str] = []

    code = run_self_test(settings_for(isolated_env, tiny_model_dir), out=lines.append,
                         samples=samples, require_recorded_score=False)

    assert code == 0
    assert any("score not compared" in line for line in lines)


def test_a_replaced_bundled_model_fails(isolated_env, model_copy, samples, monkeypatch):
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["id"] = "some-other-model"  # files still match; the model is another one
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr("core.settings.bundled_model_dir", lambda: model_copy)

    code, report = run(settings_for(isolated_env, None), samples)

    assert code == 1
    assert failed_checks(report) == ["sample"]
    assert "is not the one this build recorded" in report


def test_a_model_chosen_by_it_is_scored_but_not_compared(isolated_env, model_copy, samples):
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["id"] = "site-model"
    (model_copy / "manifest.json").write_text(json.dumps(manifest))

    code, report = run(settings_for(isolated_env, model_copy), samples)

    assert code == 0, report
    assert "not compared: another model" in report


def test_bad_settings_fail_and_say_which_key(isolated_env, samples):
    user = isolated_env / "config" / "mammo-workstation"
    user.mkdir(parents=True)
    (user / "settings.toml").write_text('engine = "cuda"\n')

    code, report = run(None, samples)

    assert code == 1
    assert failed_checks(report) == ["settings"]
    assert "engine" in report


def test_a_missing_ca_certificate_fails(isolated_env, tiny_model_dir, samples):
    settings = settings_for(isolated_env, tiny_model_dir, ca_cert=isolated_env / "ca.pem")

    code, report = run(settings, samples)

    assert code == 1
    assert failed_checks(report) == ["settings"]
    assert "ca.pem, which is not a file" in report


def test_no_model_installed_fails(isolated_env, samples):
    code, report = run(settings_for(isolated_env, isolated_env / "no-model"), samples)

    assert code == 1
    assert failed_checks(report) == ["model"]
    assert "No trained model is installed" in report


def test_the_shipped_sample_is_the_documented_image():
    import hashlib

    digest = hashlib.sha256((sample_dir() / SAMPLE_IMAGE).read_bytes()).hexdigest()
    assert digest == "1599ca376ad0cbb0cca1870947dc35643b2b228d9bb45dd863b6a13acbdf1fa3"


def test_a_model_without_its_optional_keras_file_passes_and_says_so(isolated_env, model_copy,
                                                                    samples):
    (model_copy / "model.keras").unlink()  # as the packaged workstation ships it

    code, report = run(settings_for(isolated_env, model_copy), samples)

    assert code == 0, report
    model_line = next(line for line in report.splitlines() if line.startswith("  ok   model"))
    assert "2 files match the manifest; no keras file installed (optional)" in model_line
