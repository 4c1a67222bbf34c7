"""The packaging files IT and CI rely on: build.sh's refusal, the site example, --self-test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "packaging" / "site.toml.example"


def test_build_refuses_to_start_without_a_model(tmp_path: Path):
    env = {**os.environ, "MODEL_DIR": str(tmp_path / "no-model")}

    result = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert f"no model to bundle: {tmp_path / 'no-model'}/manifest.json does not exist" \
        in result.stderr
    assert "MODEL_DIR=" in result.stderr
    assert not (tmp_path / "no-model").exists()


def test_the_site_example_is_a_valid_site_file(isolated_env: Path,
                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MAMMO_SITE_CONFIG", str(EXAMPLE))

    settings = load_settings()

    assert settings.server_url == "https://mammo.hospital.example"
    assert settings.ca_cert == Path("/etc/ssl/certs/hospital-ca.pem")
    assert settings.engine == "auto" and settings.offline_login_days == 7


def test_the_site_example_documents_every_setting():
    text = EXAMPLE.read_text()
    undocumented = [name for name in Settings.model_fields if f"{name} =" not in text]
    assert undocumented == []


def test_mammo_workstation_self_test_runs_without_a_display(isolated_env: Path,
                                                           tiny_model_dir: Path):
    env = {**os.environ, "MAMMO_MODEL_DIR": str(tiny_model_dir),
           "MAMMO_DATA_DIR": str(isolated_env / "data")}
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(var, None)  # Qt would abort without a display if a QApplication were made

    result = subprocess.run([sys.executable, "-c", "from app.main import main; "
                             "raise SystemExit(main(['mammo-workstation', '--self-test']))"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Self-test passed." in result.stdout
    assert "tiny-test-model" in result.stdout
    assert "       Qt " in result.stdout
