"""The PACS tab against a real Orthanc: search, retrieve with progress and cancel, the
automatic pull of the day's studies, and PACS problems shown in the tab, not as dialogs."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.pacs_tab import PacsTab
from app.worker import JobPools
from core.pacs import PacsConfig, StudyInbox
from core.pacs.workflow import Limits, PacsWorkflow
from core.store import Store, UserRecord
from tests.app.helpers import open_message_boxes
from tests.mg_factory import MgExam, make_exam, rsna_images
from tests.orthanc import OrthancServer, free_port
from tests.pacs_fixtures import fill_orthanc

WAIT_MS = 60_000


def make_tab(qtbot, tmp_path: Path, store: Store, user: UserRecord, pools: JobPools,
             config: PacsConfig | None, *, auto_pull_minutes: int = 0) -> PacsTab:
    flow = PacsWorkflow(config=config, store=store, inbox=StudyInbox(tmp_path / "inbox"),
                        results_root=tmp_path / "results",
                        limits=Limits(max_file_bytes=10**9, max_pixels=10**9))
    tab = PacsTab(flow=flow, pools=pools, user_id=user.id, heatmaps=lambda _v, _i: None,
                  model_loaded=False, auto_pull_minutes=auto_pull_minutes)
    qtbot.addWidget(tab)
    tab.show()
    return tab


def search(qtbot, tab: PacsTab, *, any_date: bool = True) -> None:
    tab.any_date.setChecked(any_date)
    before = tab.status.text()
    qtbot.mouseClick(tab.search, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.search.isEnabled() and tab.status.text() != before,
                    timeout=WAIT_MS)


def test_search_lists_the_pacs_studies_with_their_details(qtbot, tmp_path: Path, store: Store,
                                                          user: UserRecord, pools: JobPools,
                                                          pacs_config: PacsConfig,
                                                          filled_orthanc: OrthancServer,
                                                          mg_exams: list[MgExam]) -> None:
    tab = make_tab(qtbot, tmp_path, store, user, pools, pacs_config)
    search(qtbot, tab)
    assert tab.study_uids() == [e.study_uid for e in mg_exams]
    assert tab.table.item(0, 1).text() == "MG-0001"
    assert tab.table.item(0, 3).text() == "ACC1001"
    assert tab.status_of(mg_exams[0].study_uid) == "in the PACS"
    assert tab.status.text() == "2 studies found."
    tab.accession.setText("ACC1002")
    search(qtbot, tab)
    assert tab.study_uids() == [mg_exams[1].study_uid]


def test_retrieve_shows_progress_and_hands_each_study_over_to_be_read(
        qtbot, tmp_path: Path, store: Store, user: UserRecord, pools: JobPools,
        pacs_config: PacsConfig, filled_orthanc: OrthancServer, mg_exams: list[MgExam]
        ) -> None:
    tab = make_tab(qtbot, tmp_path, store, user, pools, pacs_config)
    search(qtbot, tab)
    tab.select_studies([e.study_uid for e in mg_exams])
    handed: list[list[str]] = []
    tab.studies_retrieved.connect(handed.append)
    with qtbot.waitSignal(tab.retrieve_finished, timeout=WAIT_MS):
        qtbot.mouseClick(tab.retrieve, Qt.MouseButton.LeftButton)
        assert tab.progress.isVisible() and tab.cancel.isEnabled()
    assert [{Path(f).stem for f in files} for files in handed] == [
        e.sop_uids for e in mg_exams], [tab.status_of(e.study_uid) for e in mg_exams]
    assert tab.status.text() == "2 studies retrieved."
    assert not tab.progress.isVisible()
    first = mg_exams[0].study_uid
    assert tab.status_of(first) == "retrieved; reading"
    for path in handed[0]:
        tab.note_file_read(path, True)
    assert tab.status_of(first) == "read"


def test_cancel_stops_the_retrieve_and_keeps_what_arrived(qtbot, tmp_path: Path, store: Store,
                                                         user: UserRecord, pools: JobPools,
                                                         pacs_config: PacsConfig,
                                                         filled_orthanc: OrthancServer,
                                                         mg_exams: list[MgExam]) -> None:
    tab = make_tab(qtbot, tmp_path, store, user, pools, pacs_config)
    search(qtbot, tab)
    tab.select_studies([e.study_uid for e in mg_exams])
    handed: list[list[str]] = []
    tab.studies_retrieved.connect(handed.append)
    with qtbot.waitSignal(tab.retrieve_finished, timeout=WAIT_MS):
        qtbot.mouseClick(tab.retrieve, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(tab.cancel, Qt.MouseButton.LeftButton)
    assert "Retrieve cancelled" in tab.status.text()
    assert len(handed) < 2  # the second study was never asked for
    assert tab.retrieve.isEnabled() and not tab.cancel.isEnabled()


def test_the_automatic_pull_retrieves_the_days_new_studies(qtbot, tmp_path: Path, store: Store,
                                                           user: UserRecord, pools: JobPools,
                                                           pacs_config: PacsConfig,
                                                           filled_orthanc: OrthancServer
                                                           ) -> None:
    today = make_exam(rsna_images()[:4], patient_id="MG-0003", patient_name="Test^Claire",
                      accession="ACC1003", study_date=date.today(), size=128)
    fill_orthanc(filled_orthanc, [today])
    tab = make_tab(qtbot, tmp_path, store, user, pools, pacs_config, auto_pull_minutes=5)
    assert tab.pull_timer.isActive() and tab.pull_timer.interval() == 5 * 60_000
    assert "every 5 minutes" in tab.pull_note.text()
    handed: list[list[str]] = []
    tab.studies_retrieved.connect(handed.append)
    with qtbot.waitSignal(tab.retrieve_finished, timeout=WAIT_MS):
        tab.pull_timer.timeout.emit()
    assert [{Path(f).stem for f in files} for files in handed] == [today.sop_uids]
    with qtbot.waitSignal(tab.retrieve_finished, timeout=WAIT_MS):
        tab.pull_timer.timeout.emit()  # nothing new: nothing fetched twice
    assert len(handed) == 1


def test_an_unreachable_pacs_is_said_in_the_tab_without_a_dialog(qtbot, tmp_path: Path,
                                                                 store: Store, user: UserRecord,
                                                                 pools: JobPools,
                                                                 pacs_config: PacsConfig
                                                                 ) -> None:
    config = dataclasses.replace(pacs_config, port=free_port(), attempts=1)
    tab = make_tab(qtbot, tmp_path, store, user, pools, config)
    search(qtbot, tab)
    assert "cannot be reached" in tab.status.text()
    assert open_message_boxes() == []


def test_without_a_pacs_the_tab_says_where_results_go(qtbot, tmp_path: Path, store: Store,
                                                      user: UserRecord, pools: JobPools) -> None:
    tab = make_tab(qtbot, tmp_path, store, user, pools, None, auto_pull_minutes=5)
    assert tab.banner.isVisible() and str(tmp_path / "results") in tab.banner.text()
    assert not tab.search.isEnabled() and not tab.retrieve.isEnabled()
    assert not tab.pull_timer.isActive()


@pytest.fixture
def settings_with_pacs(settings, pacs_config: PacsConfig):  # noqa: ANN001, ANN201
    return settings.model_copy(update={
        "pacs_host": pacs_config.host, "pacs_port": pacs_config.port,
        "pacs_called_ae": pacs_config.called_ae, "pacs_calling_ae": pacs_config.calling_ae})


def test_test_connection_in_settings_echoes_with_the_values_typed(qtbot, settings_with_pacs,
                                                                  pools: JobPools,
                                                                  orthanc: OrthancServer
                                                                  ) -> None:
    from app.settings_dialog import SettingsDialog

    dialog = SettingsDialog(settings_with_pacs, config_file="settings.toml", pools=pools)
    qtbot.addWidget(dialog)
    box = dialog.pacs
    with qtbot.waitSignal(box.connection_tested, timeout=WAIT_MS) as answered:
        qtbot.mouseClick(box.test, Qt.MouseButton.LeftButton)
    assert answered.args[0] is True and "answered" in box.result.text()
    box.called_ae.setText("NOTTHEPACS")
    with qtbot.waitSignal(box.connection_tested, timeout=WAIT_MS) as answered:
        qtbot.mouseClick(box.test, Qt.MouseButton.LeftButton)
    assert answered.args[0] is False and "pacs_called_ae = NOTTHEPACS" in box.result.text()
    assert dialog.changes()["pacs_called_ae"] == "NOTTHEPACS"
    assert dialog.changes()["pacs_port"] == orthanc.dicom_port


def test_results_go_once_read_with_automatic_sending_and_again_once_signed(
        qtbot, tmp_path: Path, store: Store, user: UserRecord, pools: JobPools,
        pacs_config: PacsConfig, filled_orthanc: OrthancServer, mg_exams: list[MgExam]) -> None:
    from tests.pacs_support import COMPREHENSIVE_SR, orthanc_objects, read_files, sign_breasts

    tab = make_tab(qtbot, tmp_path, store, user, pools, pacs_config)
    tab._flow.auto_send = True  # as IT's pacs_auto_send = true
    search(qtbot, tab)
    exam = mg_exams[0]
    tab.select_studies([exam.study_uid])
    handed: list[list[str]] = []
    tab.studies_retrieved.connect(handed.append)
    with qtbot.waitSignal(tab.retrieve_finished, timeout=WAIT_MS):
        qtbot.mouseClick(tab.retrieve, Qt.MouseButton.LeftButton)
    [files] = handed
    read_files(store, [Path(f) for f in files], user_id=user.id)
    with qtbot.waitSignal(tab.results_sent, timeout=WAIT_MS) as unsigned:
        for path in files:
            tab.note_file_read(path, True)
    assert unsigned.args[0].report.ok and not unsigned.args[0].report.signed
    sign_breasts(store, exam.study_uid, user_id=user.id, birads={"L": "1", "R": "2"})
    with qtbot.waitSignal(tab.results_sent, timeout=WAIT_MS) as signed:
        tab.note_exam_signed(exam.study_uid)
    assert signed.args[0].report.ok and signed.args[0].report.signed
    flags = sorted(str(sr.VerificationFlag) for sr in
                   orthanc_objects(filled_orthanc, exam.study_uid, COMPREHENSIVE_SR))
    assert flags == ["UNVERIFIED", "VERIFIED"]
    assert tab.status_of(exam.study_uid).startswith("results: 5 of 5 results sent to")


def test_the_pacs_values_of_settings_are_saved_as_the_program_reads_them(
        qtbot, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings_dialog import SettingsDialog
    from app.settings_file import write_user_settings
    from core.settings import load_settings

    dialog = SettingsDialog(settings, config_file="settings.toml")
    qtbot.addWidget(dialog)
    box = dialog.pacs
    box.host.setText("pacs.hospital.example")
    box.port.setValue(11112)
    box.called_ae.setText("HOSPPACS")
    box.calling_ae.setText("back\\slash")
    dialog.accept()
    assert dialog.result() == 0 and "without a backslash" in box.result.text()
    box.calling_ae.setText("MAMMOWS07")
    dialog.accept()
    assert dialog.result() == 1
    path = write_user_settings(tmp_path / "user.toml", dialog.changes())
    monkeypatch.setenv("MAMMO_CONFIG_FILE", str(path))
    loaded = load_settings()
    assert (loaded.pacs_host, loaded.pacs_port, loaded.pacs_called_ae,
            loaded.pacs_calling_ae) == ("pacs.hospital.example", 11112, "HOSPPACS", "MAMMOWS07")
