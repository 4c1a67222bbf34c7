"""``mammo predict`` reads exams, not only files: after the per-image rows, one row per exam
with its breasts' scores, whatever the images' format and folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli import main
from tests.conftest import FIXTURES
from tests.core.exams.factories import write_study_image

STUDY = "1.2.826.0.1.3680043.8.498.4242"
DDSM = FIXTURES / "ddsm" / "images"


def make_exam_folder(folder: Path) -> None:
    """DDSM-named films of two cases (one view of the second broken) and a DICOM study whose
    two views were exported into two folders."""
    (folder / "ddsm").mkdir(parents=True)
    for name in ("A_1108_LEFT_CC.jpg", "A_1108_LEFT_MLO.jpg", "A_1109_LEFT_CC.jpg"):
        shutil.copy(DDSM / name, folder / "ddsm" / name)
    (folder / "ddsm" / "A_1109_RIGHT_CC.jpg").write_text("not a picture\n")
    details = {"AccessionNumber": "ACC-9", "StudyDate": "20240115"}
    write_study_image(folder / "pacs1" / "IM1.dcm", study_uid=STUDY, patient_id="P-42",
                      laterality="L", view="CC", **details)
    write_study_image(folder / "pacs2" / "IM2.dcm", study_uid=STUDY, patient_id="P-42",
                      laterality="R", view=None, view_code=("399368009", "medio-lateral oblique"),
                      **details)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], list[dict]]:
    code = main(list(argv))
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    images = [r for r in rows if "path" in r]
    exams = [r for r in rows if "exam" in r]
    assert rows == images + exams  # every image row first, then every exam row
    return code, images, exams


def test_json_gives_one_row_per_exam_after_the_image_rows(tiny_model_dir, isolated_env,
                                                            capsys) -> None:
    folder = isolated_env / "in"
    make_exam_folder(folder)

    code, images, exams = run(capsys, "predict", "--json", str(folder), "--model",
                              str(tiny_model_dir))

    assert code == 2  # one image failed: as before the exam rows existed
    score = {Path(r["path"]).name: r.get("score") for r in images}
    assert len(images) == 6 and score["A_1109_RIGHT_CC.jpg"] is None
    by_id = {r["exam"]: r for r in exams}
    assert set(by_id) == {"A_1108", "A_1109", STUDY}

    first = by_id["A_1108"]
    left = first["breasts"]["L"]
    assert [Path(p).name for p in left["views"]] == ["A_1108_LEFT_CC.jpg", "A_1108_LEFT_MLO.jpg"]
    assert left["score"] == max(score["A_1108_LEFT_CC.jpg"], score["A_1108_LEFT_MLO.jpg"])
    assert first["score"] == left["score"] and first["threshold"] == 0.5
    assert first["label"] == ("Positive" if first["score"] >= 0.5 else "Negative")
    assert first["breasts"]["R"] == {"score": None, "label": None, "views": []}
    assert first["patient_id"] is None and first["grouped_by"] == "name"

    second = by_id["A_1109"]
    assert second["breasts"]["R"]["score"] is None and second["breasts"]["R"]["label"] is None
    assert [Path(p).name for p in second["breasts"]["R"]["views"]] == ["A_1109_RIGHT_CC.jpg"]
    assert [Path(p).name for p in second["not_scored"]] == ["A_1109_RIGHT_CC.jpg"]
    assert second["score"] == score["A_1109_LEFT_CC.jpg"]

    study = by_id[STUDY]
    assert (study["patient_id"], study["study_date"], study["accession"]) == (
        "P-42", "2024-01-15", "ACC-9")
    assert [Path(p).name for p in study["breasts"]["L"]["views"]] == ["IM1.dcm"]
    assert [Path(p).name for p in study["breasts"]["R"]["views"]] == ["IM2.dcm"]
    assert study["score"] == max(score["IM1.dcm"], score["IM2.dcm"])
    assert set(study["breasts"]) == {"L", "R"}


def test_exam_json_groups_plain_images_of_unknown_side(tiny_model_dir, isolated_env,
                                                        capsys) -> None:
    folder = isolated_env / "in" / "woman1"
    folder.mkdir(parents=True)
    mias = sorted((FIXTURES / "mias" / "pgm").glob("*.pgm.gz"))[:2]
    for image in mias:
        shutil.copy(image, folder / image.name)
    (folder / "exam.json").write_text(json.dumps({
        "exam": "E-1", "patient_id": "P-7",
        "views": {mias[0].name: {"laterality": "R", "view": "MLO"}}}))

    code, images, exams = run(capsys, "predict", "--json", "--no-store", str(folder),
                              "--model", str(tiny_model_dir))

    assert code == 0 and len(images) == 2
    (row,) = exams
    assert (row["exam"], row["patient_id"], row["grouped_by"]) == ("E-1", "P-7", "sidecar")
    assert [Path(p).name for p in row["breasts"]["R"]["views"]] == [mias[0].name]
    assert [Path(p).name for p in row["breasts"]["unknown"]["views"]] == [mias[1].name]
    assert row["score"] == max(r["score"] for r in images)


def test_text_output_summarises_each_exam_after_the_image_lines(tiny_model_dir, isolated_env,
                                                                 capsys) -> None:
    folder = isolated_env / "in"
    make_exam_folder(folder)
    (folder / "ddsm" / "exam.json").write_text("{broken")

    code = main(["predict", "--no-store", str(folder), "--model", str(tiny_model_dir)])

    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert code == 2
    assert [line.split("\t")[0] for line in lines[6:]] == [
        "exam A_1108", "exam A_1109", f"exam {STUDY}"]
    assert all(not line.startswith("exam ") for line in lines[:6])
    a1109 = lines[7]
    assert "L Positive" in a1109 or "L Negative" in a1109
    assert "R no score (1 view)" in a1109 and "1 not scored" in a1109
    assert "exam.json: not valid JSON; that folder is grouped without it" in captured.err
    assert "Traceback" not in captured.err


def test_an_unscorable_exam_has_no_score(tiny_model_dir, isolated_env, capsys) -> None:
    folder = isolated_env / "in"
    folder.mkdir()
    (folder / "case3_L_CC.png").write_bytes(b"")

    code, images, exams = run(capsys, "predict", "--json", "--no-store", str(folder),
                              "--model", str(tiny_model_dir))

    assert code == 2 and len(images) == 1 and "error" in images[0]
    assert exams == [{
        "exam": "case3", "grouped_by": "name", "patient_id": None, "study_date": None,
        "accession": None, "score": None, "label": None, "threshold": 0.5,
        "breasts": {"L": {"score": None, "label": None, "views": [images[0]["path"]]},
                    "R": {"score": None, "label": None, "views": []}},
        "not_scored": [images[0]["path"]]}]
