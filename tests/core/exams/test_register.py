"""Regrouping as files arrive keeps the reader's corrections (split, merge, side by hand)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.errors import ExamError
from core.exams import ExamRegister


@dataclass(frozen=True)
class Facts:
    """What opening a file tells (the fields of core.exams.ImageFacts)."""

    laterality: str | None = None
    view_position: str | None = None
    study_instance_uid: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    birth_date: str | None = None
    study_date: str | None = None
    accession_number: str | None = None
    manufacturer: str | None = None


def _groups(register: ExamRegister) -> list[list[str]]:
    return [[i.path.rsplit("/", 1)[-1] for i in e.images] for e in register.exams()]


def test_dicom_files_move_to_their_study_once_opened() -> None:
    register = ExamRegister()
    for name in ("a.dcm", "b.dcm", "c.dcm"):
        register.add(f"/in/{name}")
    assert _groups(register) == [["a.dcm", "b.dcm", "c.dcm"]]  # the folder, until opened

    assert register.add("/in/a.dcm", Facts(study_instance_uid="1.2.1", patient_id="P1",
                                            laterality="R", view_position="CC"))
    register.add("/in/b.dcm", Facts(study_instance_uid="1.2.2", patient_id="P2"))
    register.add("/in/c.dcm", Facts(study_instance_uid="1.2.1", patient_id="P1",
                                    laterality="L", view_position="MLO"))

    assert _groups(register) == [["a.dcm", "c.dcm"], ["b.dcm"]]
    first = register.exam_of("/in/c.dcm")
    assert first is not None and first.id == "1.2.1" and first.patient_id == "P1"
    assert [(i.laterality, i.view) for i in first.images] == [("R", "CC"), ("L", "MLO")]


def test_a_plain_picture_opening_does_not_regroup() -> None:
    register = ExamRegister()
    register.add("/in/x.png")
    register.exams()
    assert not register.add("/in/x.png", Facts())  # nothing in a PNG moves it
    assert not register.add("/in/x.png")


def test_a_split_survives_regrouping_and_new_files() -> None:
    register = ExamRegister()
    for name in ("a.png", "b.png", "c.png"):
        register.add(f"/in/{name}")
    [exam] = register.exams()

    new_id = register.split(exam.id, ["/in/c.png"])
    register.add("/in/d.png")  # a later file of the folder joins the first exam

    assert _groups(register) == [["a.png", "b.png", "d.png"], ["c.png"]]
    assert register.exams()[1].id == new_id


def test_a_merge_survives_an_exam_changing_its_id() -> None:
    register = ExamRegister()
    register.add("/one/a.dcm")
    register.add("/two/b.png")
    ids = [e.id for e in register.exams()]
    register.merge(ids)
    assert _groups(register) == [["a.dcm", "b.png"]]

    register.add("/one/a.dcm", Facts(study_instance_uid="1.2.9", patient_id="P1"))

    [exam] = register.exams()
    assert exam.id == "1.2.9" and _groups(register) == [["a.dcm", "b.png"]]


def test_merging_two_patients_is_refused_and_nothing_changes() -> None:
    register = ExamRegister()
    register.add("/a/1.dcm", Facts(study_instance_uid="1.1", patient_id="P1"))
    register.add("/b/2.dcm", Facts(study_instance_uid="2.2", patient_id="P2"))

    with pytest.raises(ExamError, match="different patients"):
        register.merge([e.id for e in register.exams()])
    assert len(register.exams()) == 2


def test_a_side_said_by_hand_is_kept_and_unknowns_are_listed() -> None:
    register = ExamRegister()
    register.add("/in/scan1.png")
    register.add("/in/scan2.png")
    assert register.unknown_paths() == ["/in/scan1.png", "/in/scan2.png"]

    register.set_side("/in/scan1.png", laterality="L")
    register.set_side("/in/scan1.png", view="MLO")  # the side said before stays
    register.add("/in/scan3.png")

    image = register.exam_of("/in/scan1.png").image("/in/scan1.png")
    assert (image.laterality, image.view) == ("L", "MLO")
    assert register.unknown_paths() == ["/in/scan2.png", "/in/scan3.png"]
    with pytest.raises(ExamError):
        register.set_side("/in/scan2.png", laterality="both")
