"""``mammo predict`` and ``mammo history`` as a user runs them."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from app.cli import main
from tests.conftest import FIXTURES


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_mixed_folder(folder: Path) -> tuple[list[str], list[str]]:
    """Two real mammograms (one in a sub-folder) and five broken files."""
    (folder / "sub").mkdir(parents=True)
    good = sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[:1]
    shutil.copy(good[0], folder / good[0].name)
    shutil.copy(FIXTURES / "mias" / "pgm" / "mdb023.pgm.gz", folder / "sub" / "mdb023.pgm.gz")
    (folder / "zero.png").write_bytes(b"")
    (folder / "letter.png").write_text("Dear colleague,\n")
    (folder / "notes.dcm").write_text("not a DICOM file\n")
    raw = b"".join(b"\x00" + bytes((x + y) % 256 for x in range(64)) for y in range(64))
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
    png += _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")
    (folder / "truncated.png").write_bytes(png[: len(png) // 3])
    bomb = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 0,
                                                                0, 0, 0))
    bomb += _chunk(b"IDAT", zlib.compress(b"\x00" * 60001 * 8, 9)) + _chunk(b"IEND", b"")
    (folder / "bomb.png").write_bytes(bomb)
    return [good[0].name, "mdb023.pgm.gz"], ["zero.png", "letter.png", "notes.dcm",
                                             "truncated.png", "bomb.png"]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_mixed_folder_gives_scores_errors_and_exit_2(tiny_model_dir, isolated_env, capsys):
    folder = isolated_env / "in"
    good, bad = make_mixed_folder(folder)
    code, rows = run_json(capsys, "predict", "--json", str(folder), "--model",
                          str(tiny_model_dir))
    assert code == 2
    by_name = {Path(r["path"]).name: r for r in rows if "path" in r}  # then exam rows
    assert set(by_name) == set(good) | set(bad)
    for name in good:
        r = by_name[name]
        assert 0 <= r["score"] <= 1 and r["label"] in ("Positive", "Negative")
        assert r["model_id"] == "tiny-test-model" and r["engine"] == "onnx"
        assert r["device"] == "cpu" and r["threshold"] == 0.5 and r["reading_id"]
        assert len(r["heatmap_peak"]) == 2 and min(r["heatmap_peak"]) >= 0
    for name in bad:
        assert by_name[name]["error"] and "score" not in by_name[name]
    assert "empty" in by_name["zero.png"]["error"]
    assert "60000" in by_name["bomb.png"]["error"]

    code, history = run_json(capsys, "history", "--json")
    assert code == 0
    assert {h["reading_id"] for h in history} == {by_name[n]["reading_id"] for n in good}
    assert all(h["model_id"] == "tiny-test-model" for h in history)


def test_no_model_installed_exits_1_without_traceback(isolated_env, capsys):
    folder = isolated_env / "in"
    make_mixed_folder(folder)
    code = main(["predict", "--json", str(folder), "--model", str(isolated_env / "none")])
    err = capsys.readouterr().err
    assert code == 1
    assert "No trained model is installed" in err and "Traceback" not in err


def test_all_good_exits_0_and_no_store_keeps_nothing(tiny_model_dir, isolated_env, capsys):
    image = sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[0]
    code, rows = run_json(capsys, "predict", "--json", "--no-store", str(image), "--model",
                          str(tiny_model_dir), "--engine", "tf")
    assert code == 0 and rows[0]["engine"] == "tf" and rows[0]["reading_id"] is None
    code, history = run_json(capsys, "history", "--json")
    assert code == 0 and history == []


def test_bad_settings_exit_1_with_a_message(isolated_env, monkeypatch, capsys):
    monkeypatch.setenv("MAMMO_ENGINE", "quantum")
    code = main(["predict", str(isolated_env)])
    err = capsys.readouterr().err
    assert code == 1 and "engine" in err and "Traceback" not in err
