"""C-MOVE and C-GET into the inbox against a real Orthanc, including a PACS that does not
know the workstation and a retrieve that stops half-way."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from core.errors import PacsError, PacsErrorKind
from core.exams import ImageFile, group_exams
from core.imaging import open_image
from core.pacs import PacsConfig, StudyInbox, retrieve_study
from tests.mg_factory import MgExam, dicom_bytes
from tests.orthanc import OrthancServer
from tests.pacs_fixtures import WORKSTATION_AE, fill_orthanc
from tests.pacs_support import SECONDARY_CAPTURE

LIMITS = {"max_file_bytes": 10**9, "max_pixels": 10**9}


@pytest.mark.parametrize("method", ["move", "get"])
def test_retrieve_brings_the_study_to_the_inbox_as_one_exam(
        pacs_config: PacsConfig, filled_orthanc: OrthancServer, mg_exams: list[MgExam],
        tmp_path: Path, method: str) -> None:
    exam = mg_exams[1]
    seen: list[tuple[int, int]] = []
    inbox = StudyInbox(tmp_path / "inbox")
    got = retrieve_study(dataclasses.replace(pacs_config, retrieve=method), exam.study_uid,
                         inbox=inbox, progress=lambda done, total: seen.append((done, total)))
    assert got.complete and got.expected == 4
    assert {p.stem for p in got.files} == exam.sop_uids
    assert seen[-1] == (4, 4)
    files = [ImageFile(p, open_image(p, **LIMITS).meta) for p in got.files]
    [grouped] = group_exams(files)
    assert grouped.id == exam.study_uid and grouped.patient_id == "MG-0002"
    assert sorted((i.laterality, i.view) for i in grouped.images) == [
        ("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO")]


def test_retrieving_again_fetches_nothing_already_here(pacs_config: PacsConfig,
                                                      filled_orthanc: OrthancServer,
                                                      mg_exams: list[MgExam],
                                                      tmp_path: Path) -> None:
    inbox = StudyInbox(tmp_path / "inbox")
    retrieve_study(pacs_config, mg_exams[0].study_uid, inbox=inbox)
    seen: list[tuple[int, int]] = []
    again = retrieve_study(pacs_config, mg_exams[0].study_uid, inbox=inbox,
                           progress=lambda done, total: seen.append((done, total)))
    assert again.complete and len(again.files) == 4
    assert seen == [(4, 4)]


def test_a_pacs_that_does_not_know_the_workstation_as_destination_says_so(
        start_orthanc: Callable[..., OrthancServer], mg_exams: list[MgExam],
        receive_port: int, tmp_path: Path) -> None:
    # A PACS that lets anyone query and retrieve, but has no entry for this workstation.
    orthanc = start_orthanc(open_to_all=True)
    fill_orthanc(orthanc, mg_exams[:1])
    config = PacsConfig(host="127.0.0.1", port=orthanc.dicom_port, called_ae=orthanc.aet,
                        calling_ae=WORKSTATION_AE, receive_port=receive_port, backoff_s=0.1)
    with pytest.raises(PacsError) as caught:
        retrieve_study(config, mg_exams[0].study_uid, inbox=StudyInbox(tmp_path / "inbox"))
    assert caught.value.kind is PacsErrorKind.DESTINATION
    assert not caught.value.transient
    assert f"AE title {WORKSTATION_AE}, port {receive_port}" in caught.value.message


def test_a_retrieve_cut_half_way_keeps_what_arrived_and_fetches_the_rest(
        pacs_config: PacsConfig, filled_orthanc: OrthancServer, mg_exams: list[MgExam],
        tmp_path: Path) -> None:
    exam = mg_exams[0]
    inbox = StudyInbox(tmp_path / "inbox")
    killed = threading.Event()

    def crash_after_two(done: int, _total: int) -> None:
        if done == 2 and not killed.is_set():
            killed.set()
            filled_orthanc.kill()  # the PACS dies while it sends the third image

    config = dataclasses.replace(pacs_config, attempts=2, backoff_s=0.1)
    with pytest.raises(PacsError) as caught:
        retrieve_study(config, exam.study_uid, inbox=inbox, progress=crash_after_two)
    assert caught.value.kind is PacsErrorKind.UNREACHABLE and caught.value.transient
    kept = inbox.present(exam.study_uid)
    assert 2 <= len(kept) < 4 and kept <= exam.sop_uids
    filled_orthanc.start()
    seen: list[tuple[int, int]] = []
    got = retrieve_study(config, exam.study_uid, inbox=inbox,
                         progress=lambda done, total: seen.append((done, total)))
    assert got.complete and {p.stem for p in got.files} == exam.sop_uids
    assert seen[0] == (len(kept), 4)  # only the missing images were asked for


def test_retrieve_tries_again_with_backoff_until_the_pacs_is_back(
        pacs_config: PacsConfig, filled_orthanc: OrthancServer, mg_exams: list[MgExam],
        tmp_path: Path) -> None:
    filled_orthanc.stop()
    restarter = threading.Timer(1.0, filled_orthanc.start)
    restarter.start()
    try:
        config = dataclasses.replace(pacs_config, attempts=6, backoff_s=0.5)
        got = retrieve_study(config, mg_exams[0].study_uid,
                             inbox=StudyInbox(tmp_path / "inbox"))
    finally:
        restarter.join()
    assert got.complete and len(got.files) == 4


def test_a_cancelled_retrieve_stops_and_keeps_whole_images(pacs_config: PacsConfig,
                                                          filled_orthanc: OrthancServer,
                                                          mg_exams: list[MgExam],
                                                          tmp_path: Path) -> None:
    cancel = threading.Event()
    inbox = StudyInbox(tmp_path / "inbox")
    got = retrieve_study(pacs_config, mg_exams[0].study_uid, inbox=inbox, cancel=cancel,
                         progress=lambda done, _total: done >= 1 and cancel.set())
    assert not got.complete
    assert all(p.suffix == ".dcm" for p in inbox.folder(mg_exams[0].study_uid).iterdir())


def test_only_the_mammograms_of_a_study_are_fetched_not_its_reports_or_captures(
        pacs_config: PacsConfig, filled_orthanc: OrthancServer, mg_exams: list[MgExam],
        tmp_path: Path) -> None:
    exam = mg_exams[0]
    capture = copy.deepcopy(exam.datasets[0])  # a capture sent back earlier, in its series
    capture.SOPClassUID = capture.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    capture.SOPInstanceUID = capture.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    capture.SeriesInstanceUID = generate_uid()
    capture.Modality = "OT"
    filled_orthanc.upload(dicom_bytes(capture))
    got = retrieve_study(pacs_config, exam.study_uid, inbox=StudyInbox(tmp_path / "inbox"))
    assert got.complete and got.expected == 4
    assert {p.stem for p in got.files} == exam.sop_uids
    assert {p.stem for p in got.folder.iterdir()} == exam.sop_uids
