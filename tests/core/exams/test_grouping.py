"""Images come together as exams: DICOM by study, plain images by exam.json, name or folder;
and a radiologist can split, merge and correct what the rules got wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ExamError
from core.exams import (
    ExamId,
    ImageFile,
    group_exams,
    merge_exams,
    read_sidecars,
    set_side,
    split_exam,
)
from tests.core.exams.factories import (
    exam,
    opened,
    write_plain_image,
    write_study_image,
)

STUDY_A = "1.2.826.0.1.3680043.8.498.100"
STUDY_B = "1.2.826.0.1.3680043.8.498.200"


def _views(exam_) -> list[tuple[str, str, str]]:
    return [(Path(i.path).name, i.laterality, i.view) for i in exam_.images]


def test_dicom_images_group_by_study_across_folders(tmp_path: Path) -> None:
    details = {"AccessionNumber": "ACC-1", "StudyDate": "20240115", "Manufacturer": "GE",
               "PatientName": "Doe^Jane", "PatientBirthDate": "19610307"}
    a_lcc = write_study_image(tmp_path / "in1" / "1.dcm", study_uid=STUDY_A, **details)
    b_rcc = write_study_image(tmp_path / "in1" / "2.dcm", study_uid=STUDY_B,
                              patient_id="P-2", laterality="R")
    a_rmlo = write_study_image(tmp_path / "in2" / "3.dcm", study_uid=STUDY_A,
                               laterality="R", view="MLO", **details)

    exams = group_exams(opened(a_lcc, b_rcc, a_rmlo))

    assert [e.id for e in exams] == [STUDY_A, STUDY_B]
    first = exams[0]
    assert first.grouped_by == "study_uid"
    assert _views(first) == [("1.dcm", "L", "CC"), ("3.dcm", "R", "MLO")]
    assert (first.patient_id, first.patient_name, first.birth_date) == (
        "P-1", "Doe^Jane", "1961-03-07")
    assert (first.study_date, first.accession, first.manufacturer) == (
        "2024-01-15", "ACC-1", "GE")
    assert exams[1].patient_id == "P-2" and exams[1].paths == (str(b_rcc),)


def test_plain_images_in_one_folder_are_one_exam(tmp_path: Path) -> None:
    a = write_plain_image(tmp_path / "p1" / "a.png")
    b = write_plain_image(tmp_path / "p1" / "b.png")
    c = write_plain_image(tmp_path / "p2" / "c.png")

    exams = group_exams(opened(a, b, c))

    assert [e.id for e in exams] == [str(tmp_path / "p1"), str(tmp_path / "p2")]
    assert [len(e.images) for e in exams] == [2, 1]
    assert all(e.grouped_by == "folder" and e.patient_id is None for e in exams)
    assert _views(exams[0]) == [("a.png", "unknown", "unknown"), ("b.png", "unknown", "unknown")]


def test_names_like_ddsm_split_a_folder_into_exams(tmp_path: Path) -> None:
    names = ["A_1108_LEFT_CC.jpg", "A_1108_LEFT_MLO.jpg", "A_1109_RIGHT_CC.jpg", "notes.png"]
    files = [write_plain_image(tmp_path / "ddsm" / n) for n in names]

    exams = group_exams(opened(*files))

    assert [e.id for e in exams] == ["A_1108", "A_1109", str(tmp_path / "ddsm")]
    assert exams[0].grouped_by == "name"
    assert _views(exams[0]) == [("A_1108_LEFT_CC.jpg", "L", "CC"),
                                ("A_1108_LEFT_MLO.jpg", "L", "MLO")]
    assert _views(exams[2]) == [("notes.png", "unknown", "unknown")]


def test_the_same_name_in_two_folders_stays_two_exams(tmp_path: Path) -> None:
    one = write_plain_image(tmp_path / "site1" / "case7_L_CC.png")
    two = write_plain_image(tmp_path / "site2" / "case7_L_CC.png")

    exams = group_exams(opened(one, two))

    assert [e.id for e in exams] == [str(tmp_path / "site1" / "case7"),
                                     str(tmp_path / "site2" / "case7")]


def test_exam_json_names_the_folder_s_exam_and_its_patient(tmp_path: Path) -> None:
    folder = tmp_path / "p1"
    files = [write_plain_image(folder / n) for n in ("x_L_CC.png", "y_R_CC.png", "img.png")]
    (folder / "exam.json").write_text(json.dumps({
        "exam": "E-17", "patient_id": "P-9", "study_date": "2024-02-01", "accession": "A-5",
        "views": {"img.png": {"laterality": "r", "view": "mlo"}}}))

    sidecars, problems = read_sidecars([folder])
    exams = group_exams(opened(*files), sidecars=sidecars)

    assert problems == []
    assert [e.id for e in exams] == ["E-17"]
    only = exams[0]
    assert (only.grouped_by, only.patient_id, only.study_date, only.accession) == (
        "sidecar", "P-9", "2024-02-01", "A-5")
    assert _views(only) == [("x_L_CC.png", "L", "CC"), ("y_R_CC.png", "R", "CC"),
                            ("img.png", "R", "MLO")]


def test_exam_json_lists_files_of_another_exam_even_a_dicom(tmp_path: Path) -> None:
    folder = tmp_path / "p1"
    new = write_plain_image(folder / "new.png")
    old = write_plain_image(folder / "old.png")
    moved = write_study_image(folder / "moved.dcm", study_uid=STUDY_A)
    kept = write_study_image(folder / "kept.dcm", study_uid=STUDY_A)
    (folder / "exam.json").write_text(json.dumps({
        "exams": [{"exam": "E-2023", "patient_id": "P-1", "files": ["old.png", "moved.dcm"]}]}))

    sidecars, _ = read_sidecars([folder])
    exams = group_exams(opened(new, old, moved, kept), sidecars=sidecars)

    by_id = {e.id: [Path(p).name for p in e.paths] for e in exams}
    assert by_id == {str(folder): ["new.png"], "E-2023": ["old.png", "moved.dcm"],
                     STUDY_A: ["kept.dcm"]}


def test_a_malformed_exam_json_is_reported_with_its_folder(
        tmp_path: Path) -> None:
    bad_json, bad_view = tmp_path / "a", tmp_path / "b"
    bad_json.mkdir()
    bad_view.mkdir()
    (bad_json / "exam.json").write_text("{not json")
    (bad_view / "exam.json").write_text(json.dumps({"views": {"x.png": {"view": "sideways"}}}))

    sidecars, problems = read_sidecars([bad_json, bad_view, tmp_path / "none"])

    assert sidecars == {}
    assert "not valid JSON" in problems[0].message and str(bad_json) in problems[0].message
    assert "view must be a mammography view" in problems[1].message


def test_a_file_that_failed_to_open_is_still_listed_in_its_folder_s_exam(
        tmp_path: Path) -> None:
    good = write_plain_image(tmp_path / "p1" / "good.png")
    broken = tmp_path / "p1" / "broken.dcm"
    broken.write_text("not a DICOM file\n")

    exams = group_exams(opened(good, broken))

    assert [(e.id, [Path(p).name for p in e.paths]) for e in exams] == [
        (str(tmp_path / "p1"), ["good.png", "broken.dcm"])]


def test_dicom_without_a_study_uid_never_joins_two_patients(tmp_path: Path) -> None:
    one = write_study_image(tmp_path / "old" / "1.dcm", study_uid=None, patient_id="P-1")
    two = write_study_image(tmp_path / "old" / "2.dcm", study_uid=None, patient_id="P-2")

    exams = group_exams(opened(one, two))

    assert [(e.patient_id, len(e.images)) for e in exams] == [("P-1", 1), ("P-2", 1)]
    assert exams[0].id != exams[1].id


def test_split_moves_images_to_a_new_exam_after_it() -> None:
    exams = [exam("E1", ("a", "L", "CC"), ("b", "L", "MLO"), ("c", "R", "CC"),
                  patient_id="P-1"), exam("E2", ("d", "R", "CC"))]

    after = split_exam(exams, ExamId("E1"), paths=["c"])

    assert [(e.id, e.paths) for e in after] == [("E1", ("a", "b")), ("E1-2", ("c",)),
                                               ("E2", ("d",))]
    assert after[1].grouped_by == "hand" and after[1].patient_id == "P-1"
    assert [e.paths for e in exams] == [("a", "b", "c"), ("d",)]  # the input is unchanged


@pytest.mark.parametrize(("paths", "new_id", "says"), [
    (["d"], None, "not part of exam E1"),
    (["a", "b"], None, "both exams"),
    ([], None, "both exams"),
    (["a"], "E2", "already an exam E2"),
])
def test_a_split_that_does_not_fit_is_refused(paths, new_id, says) -> None:
    exams = [exam("E1", ("a", "L", "CC"), ("b", "L", "MLO")), exam("E2", ("d", "R", "CC"))]

    with pytest.raises(ExamError, match=says):
        split_exam(exams, ExamId("E1"), paths=paths, new_id=new_id)


def test_merge_joins_exams_into_the_first_and_fills_its_details() -> None:
    exams = [exam("E1", ("a", "L", "CC")), exam("E2", ("b", "R", "CC")),
             exam("E3", ("c", "R", "MLO"), patient_id="P-1")]

    after = merge_exams(exams, [ExamId("E1"), ExamId("E3")])

    assert [(e.id, e.paths) for e in after] == [("E1", ("a", "c")), ("E2", ("b",))]
    assert after[0].patient_id == "P-1" and after[0].grouped_by == "hand"


def test_merging_two_patients_needs_to_be_meant() -> None:
    exams = [exam("E1", ("a", "L", "CC"), patient_id="P-1"),
             exam("E2", ("b", "R", "CC"), patient_id="P-2")]

    with pytest.raises(ExamError, match="different patients"):
        merge_exams(exams, [ExamId("E1"), ExamId("E2")])
    with pytest.raises(ExamError, match="no exam E9"):
        merge_exams(exams, [ExamId("E1"), ExamId("E9")])
    merged = merge_exams(exams, [ExamId("E1"), ExamId("E2")], allow_different_patients=True)
    assert merged[0].paths == ("a", "b")


def test_side_and_view_are_set_by_hand() -> None:
    exams = [exam("E1", ("a", "unknown", "unknown"), ("b", "L", "MLO"))]

    after = set_side(exams, "a", laterality="R")
    after = set_side(after, "a", view="cc")
    after = set_side(after, "b", laterality="unknown")

    assert [(i.path, i.laterality, i.view) for i in after[0].images] == [
        ("a", "R", "CC"), ("b", "unknown", "MLO")]
    with pytest.raises(ExamError, match="not a breast side"):
        set_side(after, "a", laterality="X")  # type: ignore[arg-type]
    with pytest.raises(ExamError, match="not part of any exam"):
        set_side(after, "z", view="CC")


def test_grouping_keeps_input_order_and_every_file_once(tmp_path: Path) -> None:
    files = [ImageFile(path=tmp_path / f"{n}_{side}_CC.png")
             for n, side in (("B", "L"), ("A", "L"), ("B", "R"))]

    exams = group_exams(files)

    assert [(e.id, [Path(p).name for p in e.paths]) for e in exams] == [
        ("B", ["B_L_CC.png", "B_R_CC.png"]), ("A", ["A_L_CC.png"])]
