"""Results back to a real Orthanc: the SR and one capture per view, sent only once the reader
signed, read back with pydicom and highdicom, checked by dciodvfy; and what happens when the
PACS is down, refuses them, or is not configured."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom.sr.codedict import codes

from core.errors import PacsError, PacsErrorKind
from core.pacs import PacsConfig, StudyInbox
from core.pacs.report import PROBABILITY
from core.pacs.results import model_heatmaps
from core.pacs.workflow import Limits, PacsWorkflow
from core.store import Store, UserId
from tests.mg_factory import MgExam, write_exam
from tests.orthanc import OrthancServer
from tests.pacs_support import (
    COMPREHENSIVE_SR,
    SECONDARY_CAPTURE,
    dciodvfy_errors,
    orthanc_objects,
    read_files,
    sign_breasts,
)


@pytest.fixture
def exam_files(tmp_path: Path, mg_exams: list[MgExam]) -> list[Path]:
    return write_exam(mg_exams[0], tmp_path / "exam")


def workflow(store: Store, tmp_path: Path, config: PacsConfig | None, *,
             auto_send: bool = False) -> PacsWorkflow:
    return PacsWorkflow(config=config, store=store, inbox=StudyInbox(tmp_path / "inbox"),
                        results_root=tmp_path / "results",
                        limits=Limits(max_file_bytes=10**9, max_pixels=10**9),
                        auto_send=auto_send)


def test_signed_results_reach_the_pacs_with_the_right_references_and_values(
        store: Store, reader: UserId, pacs_config: PacsConfig, orthanc: OrthancServer,
        mg_exams: list[MgExam], exam_files: list[Path], tmp_path: Path) -> None:
    exam = mg_exams[0]
    model = read_files(store, exam_files, user_id=reader)
    sign_breasts(store, exam.study_uid, user_id=reader, birads={"L": "2", "R": "4A"})
    report = workflow(store, tmp_path, pacs_config).export(
        exam_files, user_id=reader, heatmaps=model_heatmaps(model))
    assert report.ok and report.signed and len(report.delivered) == 5

    [sr] = orthanc_objects(orthanc, exam.study_uid, COMPREHENSIVE_SR)
    captures = orthanc_objects(orthanc, exam.study_uid, SECONDARY_CAPTURE)
    assert len(captures) == 4
    assert sr.PatientID == "MG-0001" and sr.AccessionNumber == "ACC1001"
    assert sr.VerificationFlag == "VERIFIED" and sr.CompletionFlag == "COMPLETE"
    evidence = {item.ReferencedSOPInstanceUID
                for study in sr.CurrentRequestedProcedureEvidenceSequence
                for series in study.ReferencedSeriesSequence
                for item in series.ReferencedSOPSequence}
    assert evidence == exam.sop_uids

    document = hd.sr.ComprehensiveSR.from_dataset(sr)
    readings = {r.source_path: r for r in store.list_readings(user_id=reader)}
    by_sop = {str(ds.SOPInstanceUID): readings[str(path)]
              for ds, path in zip(exam.datasets, exam_files, strict=True)}
    points = hd.sr.utils.find_content_items(document, name=codes.DCM.Center, recursive=True)
    assert len(points) == 4
    for point in points:
        [image] = point.ContentSequence
        reading = by_sop[image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID]
        assert np.allclose(point.GraphicData, [reading.heatmap_peak_x, reading.heatmap_peak_y],
                           atol=0.01)
    scores = sorted(round(float(item.MeasuredValueSequence[0].NumericValue), 5)
                    for item in hd.sr.utils.find_content_items(document, name=PROBABILITY,
                                                               recursive=True))
    views = sorted(round(r.score, 5) for r in by_sop.values())
    breasts = sorted(round(max(r.score for sop, r in by_sop.items()
                               if _side(exam, sop) == side), 5) for side in ("L", "R"))
    assert scores == sorted(views + breasts)
    texts = [str(item.TextValue)
             for item in hd.sr.utils.find_content_items(document, value_type="TEXT",
                                                        recursive=True)]
    assert "BI-RADS 4A" in texts and "BI-RADS 2" in texts
    assert model.info.model_id in texts and model.info.model_sha256 in texts
    assert any("Research use only, not for diagnosis" in t for t in texts)

    for capture in captures:
        [source] = capture.SourceImageSequence
        assert source.ReferencedSOPInstanceUID in exam.sop_uids
        assert capture.BurnedInAnnotation == "YES"
        assert capture.PhotometricInterpretation == "RGB"
        assert capture.pixel_array.shape[2] == 3
    report_file = next(o.path for o in report.delivered if o.kind == "report")
    assert dciodvfy_errors(report_file) == []
    sent = store.pacs_log.history(exam_id=exam.study_uid)
    assert {(e.outcome, e.signed, e.destination) for e in sent} == {
        ("sent", True, pacs_config.peer)}


def _side(exam: MgExam, sop: str) -> str:
    return next(str(ds.ImageLaterality) for ds in exam.datasets if ds.SOPInstanceUID == sop)


def test_nothing_leaves_before_the_reader_signs_each_breast(
        store: Store, reader: UserId, pacs_config: PacsConfig, orthanc: OrthancServer,
        mg_exams: list[MgExam], exam_files: list[Path], tmp_path: Path) -> None:
    model = read_files(store, exam_files, user_id=reader)
    sign_breasts(store, mg_exams[0].study_uid, user_id=reader, birads={"L": "1"})
    with pytest.raises(PacsError) as caught:
        workflow(store, tmp_path, pacs_config).export(exam_files, user_id=reader,
                                                      heatmaps=model_heatmaps(model))
    assert caught.value.kind is PacsErrorKind.NOT_SIGNED
    assert orthanc.instances_of_study(mg_exams[0].study_uid) == []
    assert store.pacs_log.history() == []


def test_automatic_sending_sends_unsigned_results_unverified_when_it_is_on(
        store: Store, reader: UserId, pacs_config: PacsConfig, orthanc: OrthancServer,
        mg_exams: list[MgExam], exam_files: list[Path], tmp_path: Path) -> None:
    model = read_files(store, exam_files, user_id=reader)
    flow = workflow(store, tmp_path, pacs_config, auto_send=True)
    with pytest.raises(PacsError):  # asked by a person, not automatic: still refused
        flow.export(exam_files, user_id=reader, heatmaps=model_heatmaps(model))
    report = flow.export(exam_files, user_id=reader, heatmaps=model_heatmaps(model),
                         automatic=True)
    assert report.ok and not report.signed
    [sr] = orthanc_objects(orthanc, mg_exams[0].study_uid, COMPREHENSIVE_SR)
    assert sr.VerificationFlag == "UNVERIFIED" and sr.PreliminaryFlag == "PRELIMINARY"
    assert all(not e.signed for e in store.pacs_log.history())


def test_a_decision_signed_on_each_breasts_view_counts_as_signed(
        store: Store, reader: UserId, pacs_config: PacsConfig, orthanc: OrthancServer,
        mg_exams: list[MgExam], exam_files: list[Path], tmp_path: Path) -> None:
    model = read_files(store, exam_files, user_id=reader)
    readings = {r.source_path: r for r in store.list_readings(user_id=reader)}
    for path in (exam_files[0], exam_files[2]):  # L CC and R CC
        store.add_feedback(reading_id=readings[str(path)].id, user_id=reader,
                           agrees_with_model=False, birads=3, note="")
    report = workflow(store, tmp_path, pacs_config).export(exam_files, user_id=reader,
                                                           heatmaps=model_heatmaps(model))
    assert report.ok and report.signed
    [sr] = orthanc_objects(orthanc, mg_exams[0].study_uid, COMPREHENSIVE_SR)
    texts = [str(i.TextValue) for i in hd.sr.utils.find_content_items(sr, recursive=True)
             if i.ValueType == "TEXT"]
    assert texts.count("BI-RADS 3") == 2


def test_without_a_pacs_the_same_objects_are_saved_to_the_folder(
        store: Store, reader: UserId, mg_exams: list[MgExam], exam_files: list[Path],
        tmp_path: Path) -> None:
    model = read_files(store, exam_files, user_id=reader)
    sign_breasts(store, mg_exams[0].study_uid, user_id=reader, birads={"L": "1", "R": "1"})
    report = workflow(store, tmp_path, None).export(exam_files, user_id=reader,
                                                    heatmaps=model_heatmaps(model))
    assert report.ok and report.destination == str(report.folder)
    assert sorted(p.name for p in report.folder.glob("*.dcm")) == [
        "capture-1-LCC.dcm", "capture-2-LMLO.dcm", "capture-3-RCC.dcm", "capture-4-RMLO.dcm",
        "report.dcm"]
    assert {e.outcome for e in store.pacs_log.history()} == {"saved"}


def test_a_pacs_that_is_down_loses_nothing_and_gets_the_same_objects_later(
        store: Store, reader: UserId, pacs_config: PacsConfig, orthanc: OrthancServer,
        mg_exams: list[MgExam], exam_files: list[Path], tmp_path: Path) -> None:
    exam = mg_exams[0]
    model = read_files(store, exam_files, user_id=reader)
    sign_breasts(store, exam.study_uid, user_id=reader, birads={"L": "2", "R": "2"})
    flow = workflow(store, tmp_path, dataclasses.replace(pacs_config, attempts=2,
                                                         backoff_s=0.1))
    orthanc.stop()
    down = flow.export(exam_files, user_id=reader, heatmaps=model_heatmaps(model))
    assert not down.ok and len(down.failed) == 5
    assert "cannot be reached" in down.failed[0][1]
    assert all(obj.path.is_file() for obj, _ in down.failed)
    assert len(store.list_readings(user_id=reader)) == 4  # the local reading is untouched
    orthanc.start()
    up = flow.export(exam_files, user_id=reader, heatmaps=model_heatmaps(model))
    assert up.ok and {o.sop_instance_uid for o in up.delivered} == {
        o.sop_instance_uid for o, _ in down.failed}
    again = flow.export(exam_files, user_id=reader, heatmaps=model_heatmaps(model))
    assert again.delivered == () and len(again.already) == 5  # never sent twice
    assert len(orthanc.instances_of_study(exam.study_uid)) == 5
    outcomes = [e.outcome for e in reversed(store.pacs_log.history(exam_id=exam.study_uid))]
    assert outcomes == ["failed"] * 5 + ["sent"] * 5


def test_a_pacs_that_refuses_the_results_says_so_and_keeps_them(
        store: Store, reader: UserId, start_orthanc: Callable[..., OrthancServer],
        pacs_config: PacsConfig, mg_exams: list[MgExam], exam_files: list[Path],
        tmp_path: Path) -> None:
    refusing = start_orthanc(full=True)
    config = dataclasses.replace(pacs_config, port=refusing.dicom_port, attempts=2,
                                 backoff_s=0.1)
    model = read_files(store, exam_files, user_id=reader)
    sign_breasts(store, mg_exams[0].study_uid, user_id=reader, birads={"L": "2", "R": "2"})
    report = workflow(store, tmp_path, config).export(exam_files, user_id=reader,
                                                      heatmaps=model_heatmaps(model))
    assert not report.ok and len(report.failed) == 5
    assert all("refused the result: it is out of resources" in why for _, why in report.failed)
    assert all(obj.path.is_file() for obj, _ in report.failed)
    assert {e.outcome for e in store.pacs_log.history()} == {"failed"}
