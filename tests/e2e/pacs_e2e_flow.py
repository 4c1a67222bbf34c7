"""End to end with a real PACS: Orthanc holds two 4-view exams; the app queries it,
retrieves both, reads them (fake model), the reader signs (per breast in the exam's panel, or
a decision on a view of each breast), and Orthanc then holds each exam's
SR and four captures, which pydicom and highdicom read back with the right references and
values, and which dciodvfy finds no error in."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import highdicom as hd  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from app.decision_panel import DecisionDraft  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.worker import JobPools  # noqa: E402
from core.pacs import PacsConfig  # noqa: E402
from core.pacs.report import PROBABILITY  # noqa: E402
from core.reading import ReadingService  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402
from core.store import NewAssessment, Store, UserRecord  # noqa: E402
from tests.app.factories import FakeClassifier  # noqa: E402
from tests.mg_factory import MgExam  # noqa: E402
from tests.orthanc import OrthancServer  # noqa: E402
from tests.pacs_support import (  # noqa: E402
    COMPREHENSIVE_SR,
    SECONDARY_CAPTURE,
    dciodvfy_errors,
    orthanc_objects,
)

WAIT_MS = 120_000


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pacs_config: PacsConfig
             ) -> Settings:
    for name in list(os.environ):
        if name.startswith("MAMMO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAMMO_CONFIG_FILE", str(tmp_path / "config" / "settings.toml"))
    monkeypatch.setenv("MAMMO_SITE_CONFIG", str(tmp_path / "config" / "site.toml"))
    return load_settings(data_dir=tmp_path / "data", model_dir=tmp_path / "no-model",
                         pacs_host=pacs_config.host, pacs_port=pacs_config.port,
                         pacs_called_ae=pacs_config.called_ae,
                         pacs_calling_ae=pacs_config.calling_ae,
                         pacs_receive_port=pacs_config.receive_port)


@pytest.fixture
def window(qtbot, settings: Settings) -> Iterator[tuple[MainWindow, Store, UserRecord]]:
    store = Store.open(settings.store_path)
    user = store.get_user(store.create_local_account("jreader", "a long password",
                                                     display_name="Jane Reader"))
    assert user is not None
    pools = JobPools()
    service = ReadingService(store=store, classifier=FakeClassifier(),  # type: ignore[arg-type]
                             max_file_bytes=settings.max_file_bytes,
                             max_pixels=settings.max_pixels)
    built = MainWindow(settings=settings, store=store, user=user, pools=pools,
                       reading_service=service, model_info=service.classifier.info,
                       config_file=Path(os.environ["MAMMO_CONFIG_FILE"]))
    qtbot.addWidget(built)
    built.show()
    try:
        yield built, store, user
    finally:
        built.close()
        assert pools.shutdown(wait_ms=30_000)
        store.close()


def test_exams_from_the_pacs_are_read_signed_and_their_results_sent_back(
        qtbot, window: tuple[MainWindow, Store, UserRecord], filled_orthanc: OrthancServer,
        mg_exams: list[MgExam]) -> None:
    main, store, user = window
    tab = main.pacs_tab
    main.tabs.setCurrentWidget(tab)

    # Query: both exams are listed.
    tab.any_date.setChecked(True)
    qtbot.mouseClick(tab.search, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(tab.study_uids()) == 2, timeout=WAIT_MS)
    uids = [e.study_uid for e in mg_exams]
    assert tab.study_uids() == uids

    # Retrieve and read: each study becomes an exam of the worklist, scored.
    tab.select_studies(uids)
    qtbot.mouseClick(tab.retrieve, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(tab.status_of(uid) == "read" for uid in uids),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: {e.id for e in main.worklist_model.entries()} >= set(uids),
                    timeout=WAIT_MS)  # the worklist regroups on a timer as files open
    readings = {r.source_path: r for r in store.list_readings(user_id=user.id)}
    assert len(readings) == 8

    # The reader signs. The first exam: an assessment of each breast in the exam's panel,
    # both at once. The second: a decision on one view of each breast, one after the other;
    # its results leave only once both breasts are signed.
    sent: list[object] = []
    tab.results_sent.connect(sent.append)
    first, second = mg_exams
    main.worklist.select_exam(first.study_uid)
    qtbot.waitUntil(lambda: main.breast_panel.exam_id == first.study_uid, timeout=WAIT_MS)
    main.breast_panel.sign_clicked.emit([
        NewAssessment(exam_id=first.study_uid, side=side, user_id=user.id, birads=birads,
                      density="b", note=f"{side} breast", mode="without_model")
        for side, birads in (("L", "2"), ("R", "4B"))])
    qtbot.waitUntil(lambda: len(sent) == 1, timeout=WAIT_MS)
    assert sent[-1].exam_id == first.study_uid and sent[-1].sent, sent[-1].message
    for side, birads in (("L", 2), ("R", 4)):
        reading = next(r for path, r in readings.items()
                       if Path(path).parent.name == second.study_uid
                       and _side(second, Path(path).stem) == side)
        main.decision_panel.sign_clicked.emit(DecisionDraft(
            reading_id=reading.id, agrees_with_model=side == "L", birads=birads,
            note=f"{side} breast", amends_id=None))
        qtbot.waitUntil(lambda n=len(sent): len(sent) > n, timeout=WAIT_MS)
    assert sent[-2].report is None  # after the first breast: waiting for the second
    assert sent[-1].exam_id == second.study_uid and sent[-1].sent, sent[-1].message

    for exam in mg_exams:
        [sr] = orthanc_objects(filled_orthanc, exam.study_uid, COMPREHENSIVE_SR)
        captures = orthanc_objects(filled_orthanc, exam.study_uid, SECONDARY_CAPTURE)
        assert len(captures) == 4
        assert {c.SourceImageSequence[0].ReferencedSOPInstanceUID for c in captures} \
            == exam.sop_uids
        document = hd.sr.ComprehensiveSR.from_dataset(sr)
        assert document.PatientID == exam.patient_id
        assert document.VerificationFlag == "VERIFIED"
        evidence = {item.ReferencedSOPInstanceUID
                    for study in sr.CurrentRequestedProcedureEvidenceSequence
                    for series in study.ReferencedSeriesSequence
                    for item in series.ReferencedSOPSequence}
        assert evidence == exam.sop_uids
        by_sop = {Path(path).stem: r for path, r in readings.items()
                  if Path(path).parent.name == exam.study_uid}
        points = hd.sr.utils.find_content_items(document, value_type="SCOORD", recursive=True)
        assert len(points) == 4
        for point in points:
            reading = by_sop[point.ContentSequence[0].ReferencedSOPSequence[0]
                             .ReferencedSOPInstanceUID]
            assert np.allclose(point.GraphicData,
                               [reading.heatmap_peak_x, reading.heatmap_peak_y], atol=0.01)
        scores = sorted(round(float(n.MeasuredValueSequence[0].NumericValue), 5)
                        for n in hd.sr.utils.find_content_items(document, name=PROBABILITY,
                                                                recursive=True))
        views = [round(r.score, 5) for r in by_sop.values()]
        breasts = [max(round(r.score, 5) for sop, r in by_sop.items() if _side(exam, sop) == s)
                   for s in ("L", "R")]
        assert scores == sorted(views + breasts)
        texts = [str(t.TextValue) for t in hd.sr.utils.find_content_items(
            document, value_type="TEXT", recursive=True)]
        right = "BI-RADS 4B" if exam is first else "BI-RADS 4"
        assert {"BI-RADS 2", right, "fake-densenet-1"} <= set(texts)

    reports = [o.path for s in sent if s.report for o in s.report.delivered
               if o.kind == "report"]
    assert len(reports) == 2
    for path in reports:
        assert dciodvfy_errors(path) == []
    audit = store.pacs_log.history()
    assert len(audit) == 10 and {e.outcome for e in audit} == {"sent"}


def _side(exam: MgExam, sop: str) -> str:
    return next(str(ds.ImageLaterality) for ds in exam.datasets if ds.SOPInstanceUID == sop)

