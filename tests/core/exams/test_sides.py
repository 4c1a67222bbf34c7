"""Which breast and view an image shows: from the DICOM tags, the view code, the file name, or
"unknown" for the radiologist to say."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.exams import laterality_and_view
from tests.core.exams.factories import opened, write_plain_image, write_study_image

STUDY = "1.2.826.0.1.3680043.8.498.300"


def _side_view(path: Path, **stated) -> tuple[str, str]:
    (file,) = opened(path)
    return laterality_and_view(str(file.path), file.meta, **stated)


def test_from_dicom_image_laterality_and_view_position(tmp_path: Path) -> None:
    path = write_study_image(tmp_path / "x.dcm", study_uid=STUDY, laterality="R", view="MLO")

    assert _side_view(path) == ("R", "MLO")


def test_from_the_series_laterality_and_the_view_code_sequence(tmp_path: Path) -> None:
    path = write_study_image(tmp_path / "x.dcm", study_uid=STUDY, laterality=None, view=None,
                             view_code=("399162004", "cranio-caudal"), Laterality="L")

    assert _side_view(path) == ("L", "CC")


def test_the_dicom_tags_win_over_the_file_name(tmp_path: Path) -> None:
    path = write_study_image(tmp_path / "case_R_MLO.dcm", study_uid=STUDY, laterality="L",
                             view="CC")

    assert _side_view(path) == ("L", "CC")


def test_a_dicom_that_tells_nothing_falls_back_to_its_name(tmp_path: Path) -> None:
    path = write_study_image(tmp_path / "case_RIGHT_MLO.dcm", study_uid=STUDY,
                             laterality="B", view=None)

    assert _side_view(path) == ("R", "MLO")


@pytest.mark.parametrize(("name", "expected"), [
    ("A_1108_LEFT_CC.jpg", ("L", "CC")),
    ("p7-RMLO.png", ("R", "MLO")),
    ("scan.l.mlo.pgm.gz", ("L", "MLO")),
    ("R CC 2024.png", ("R", "CC")),
    ("case_cc_L.jpeg", ("L", "CC")),
    ("patient7_L.png", ("L", "unknown")),
    ("both_L_R_CC.png", ("unknown", "CC")),
    ("CLEAR_MLOOK.png", ("unknown", "unknown")),
    ("ML_export_001.png", ("unknown", "unknown")),
    ("1.2.840.113619.2.55.png", ("unknown", "unknown")),
])
def test_from_the_file_name(tmp_path: Path, name: str, expected: tuple[str, str]) -> None:
    assert _side_view(write_plain_image(tmp_path / name)) == expected


def test_exam_json_tells_what_the_name_does_not_but_not_against_the_file(
        tmp_path: Path) -> None:
    plain = write_plain_image(tmp_path / "img.png")
    dicom = write_study_image(tmp_path / "x.dcm", study_uid=STUDY, laterality="L", view="CC")

    assert _side_view(plain, stated=("R", "MLO")) == ("R", "MLO")
    assert _side_view(dicom, stated=("R", "MLO")) == ("L", "CC")


def test_a_file_that_failed_to_open_still_gets_its_name_s_side(tmp_path: Path) -> None:
    broken = tmp_path / "case_L_CC.dcm"
    broken.write_text("not a DICOM file\n")

    assert _side_view(broken) == ("L", "CC")
