"""The worklist lists exams: DICOM studies and a PNG set grouped as the radiologist reads them,
in triage order (highest exam score first, unscored after, what could not be read last), and
the reader's corrections (retry, split, merge, side said once) from its menu."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.merge_dialog import MergeDialog
from app.side_dialog import SideDialog
from app.split_dialog import SplitDialog
from tests.app.factories import FakeClassifier, store_reading, write_broken_files
from tests.app.helpers import exam_rows, image_rows, open_message_boxes, worklist_by_file
from tests.app.study_factories import write_png_set, write_study, write_unnamed

STUDY_A = "1.2.826.0.1.3680043.8.498.1001"
STUDY_B = "1.2.826.0.1.3680043.8.498.1002"


def _import(qtbot, window, *paths: Path) -> None:
    with qtbot.waitSignal(window.batch_finished, timeout=60_000):
        window.import_paths([str(p) for p in paths])


def _dialog(kind: type):
    return next(w for w in QApplication.topLevelWidgets() if isinstance(w, kind)
                and w.isVisible())


@pytest.fixture
def three_exams(tmp_path: Path) -> Path:
    """Two four-view DICOM studies (a dim and a bright one) and a bright PNG set."""
    folder = tmp_path / "incoming"
    write_study(folder / "a", study_uid=STUDY_A, patient_id="P-A", level=0.1,
                PatientName="Doe^Jane", AccessionNumber="ACC-1", StudyDate="20240115")
    write_study(folder / "b", study_uid=STUDY_B, patient_id="P-B", level=0.9,
                PatientName="Roe^Mary", AccessionNumber="ACC-2", StudyDate="20240116")
    write_png_set(folder / "pngs", name="P7", level=0.5)
    return folder


def test_two_dicom_studies_and_a_png_set_are_three_exams_with_their_identity(
        qtbot, make_window, three_exams: Path) -> None:
    window = make_window(FakeClassifier())
    _import(qtbot, window, three_exams)

    exams = {row["Name"]: row for row in exam_rows(window)}
    assert set(exams) == {"Doe, Jane", "Roe, Mary", "P7"}
    doe = exams["Doe, Jane"]
    assert (doe["Patient"], doe["Date"], doe["Accession"], doe["Views"]) == (
        "P-A", "2024-01-15", "ACC-1", "4")
    assert exams["P7"]["Patient"] == "" and exams["P7"]["Views"] == "4"
    assert all(row["Status"] == "read" or row["Status"] == "unread" for row in exams.values())
    views = [row["Views"] for row in image_rows(window)]
    assert views == ["R CC", "L CC", "R MLO", "L MLO"] * 3  # each exam in hanging order


def test_triage_order_puts_the_highest_exam_score_first_and_failures_last(
        qtbot, make_window, store, user, three_exams: Path) -> None:
    write_broken_files(three_exams / "broken")
    store_reading(store, user_id=user.id, path="/earlier/old_L_CC.png", n=1, score=0.05,
                  threshold=0.2)
    window = make_window(FakeClassifier(threshold=0.2))
    _import(qtbot, window, three_exams)

    rows = exam_rows(window)
    names = [row["Name"] for row in rows]
    assert names == ["Roe, Mary", "P7", "Doe, Jane", "old", "broken"]
    scores = [float(row["Score"]) for row in rows[:4]]
    assert scores == sorted(scores, reverse=True)
    assert rows[0]["Class"] == "Positive" and rows[3]["Class"] == "Negative"
    assert rows[-1]["Status"] == "error" and rows[-1]["Score"] == ""
    exam_b = image_rows(window)[:4]  # the first exam's views
    assert rows[0]["Score"] == max(exam_b, key=lambda r: float(r["Score"]))["Score"]


def test_an_unscored_exam_sorts_after_the_scored_ones(qtbot, make_window, store, user,
                                                      tmp_path: Path) -> None:
    store_reading(store, user_id=user.id, path="/earlier/old_L_CC.png", n=1, score=0.05)
    write_png_set(tmp_path / "waiting", name="W1", level=0.5)
    classifier = FakeClassifier(steps=True)
    window = make_window(classifier)
    window.import_paths([str(tmp_path / "waiting")])

    qtbot.waitUntil(lambda: len(exam_rows(window)) == 2)
    assert [row["Name"] for row in exam_rows(window)] == ["old", "W1"]
    assert exam_rows(window)[1]["Status"].startswith("reading 0/4")
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        classifier.allow(1)
    assert [row["Name"] for row in exam_rows(window)] == ["W1", "old"]


def test_what_could_not_be_read_is_retried_from_the_worklist_menu(
        qtbot, make_window, store, tmp_path: Path) -> None:
    folder = tmp_path / "exam"
    paths = write_png_set(folder, name="P9", level=0.5)
    good = paths[("L", "MLO")].read_bytes()
    paths[("L", "MLO")].write_bytes(b"not yet copied")  # a file still being written
    classifier = FakeClassifier()
    window = make_window(classifier)
    _import(qtbot, window, folder)
    row = worklist_by_file(window)["P9_L_MLO.png"]
    assert row["Status"].startswith("error: ")
    assert exam_rows(window)[0]["Status"] == "read · 1 not read"

    paths[("L", "MLO")].write_bytes(good)
    window.worklist.select_exam(window.worklist_model.entries()[0].id)
    with qtbot.waitSignal(window.batch_finished, timeout=30_000) as finished:
        window.worklist.retry_action.trigger()

    assert finished.args == [1]  # only what failed is read again
    assert worklist_by_file(window)["P9_L_MLO.png"]["Status"] == "done"
    assert store.count_readings() == 4


def test_a_cancelled_batch_is_retried_from_the_worklist_menu(qtbot, make_window,
                                                             tmp_path: Path) -> None:
    write_png_set(tmp_path / "exam", name="P3", level=0.5)
    classifier = FakeClassifier(steps=True)
    window = make_window(classifier)
    window.import_paths([str(tmp_path / "exam")])
    qtbot.waitUntil(lambda: len(window.worklist_model.rows()) == 4)
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.worklist.cancel_button.click()
        classifier.allow(1)
    assert exam_rows(window)[0]["Status"] == "cancelled"

    window.worklist.select_next(0)
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.worklist.retry_action.trigger()
        classifier.allow(1)
    assert {row["Status"] for row in image_rows(window)} == {"done"}


def test_split_then_merge_from_the_worklist_menu(qtbot, make_window, three_exams: Path
                                                 ) -> None:
    window = make_window(FakeClassifier())
    _import(qtbot, window, three_exams / "pngs")
    png = window.worklist_model.entries()[0]
    moving = png.exam.paths[-1]

    window.worklist.select_exam(png.id)
    window.worklist.split_action.trigger()
    dialog = _dialog(SplitDialog)
    dialog.check(moving)
    dialog.accept()
    assert [row["Views"] for row in exam_rows(window)] == ["3", "1"]

    window.worklist.select_exam(png.id)
    window.worklist.merge_action.trigger()
    merge = _dialog(MergeDialog)
    merge.choose(next(e.id for e in window.worklist_model.entries() if e.id != png.id))
    merge.accept()
    assert [row["Views"] for row in exam_rows(window)] == ["4"]


def test_two_patients_are_never_merged(qtbot, make_window, three_exams: Path) -> None:
    window = make_window(FakeClassifier())
    _import(qtbot, window, three_exams / "a", three_exams / "b")
    first, second = window.worklist_model.entries()

    window.worklist.select_exam(first.id)
    window.worklist.merge_action.trigger()
    merge = _dialog(MergeDialog)
    merge.choose(second.id)
    merge.accept()

    assert len(exam_rows(window)) == 2
    [box] = open_message_boxes()
    assert "different patients" in box.text()
    box.close()


def test_an_unknown_side_is_asked_once_and_remembered_for_the_picture(
        qtbot, make_window, store, tmp_path: Path) -> None:
    paths = write_unnamed(tmp_path / "scans", 2)
    window = make_window(FakeClassifier())
    _import(qtbot, window, tmp_path / "scans")
    entry = window.worklist_model.entries()[0]
    window.worklist.select_exam(entry.id)
    window.worklist.select_next(0)
    assert not any(isinstance(w, SideDialog) and w.isVisible()
                   for w in QApplication.topLevelWidgets())  # chosen by the program

    window.worklist.select_path(str(paths[0]))
    tree = window.worklist.tree
    exam_row = tree.visualRect(tree.model().index(0, 0)).center()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=exam_row)
    dialog = _dialog(SideDialog)
    assert set(dialog.sides) == {str(p) for p in paths}
    dialog.set_answer(str(paths[0]), laterality="L", view="CC")
    dialog.set_answer(str(paths[1]), laterality="L", view="MLO")
    dialog.accept()

    rows = {row["Name"]: row["Views"] for row in image_rows(window)}
    assert rows == {"scan1.png": "L CC", "scan2.png": "L MLO"}
    hanging = window.controls.hanging
    qtbot.waitUntil(lambda: hanging.cells[("L", "MLO")].image is not None)
    qtbot.waitUntil(lambda: len(store.image_sides.stated(
        {r.pixel_sha256 for r in store.list_readings()})) == 2)

    again = make_window(FakeClassifier())  # the next session: the pictures are known
    qtbot.waitUntil(lambda: {row["Views"] for row in image_rows(again)} == {"L CC", "L MLO"})


def test_history_finds_a_dicom_exam_by_patient_id_and_accession(
        qtbot, make_window, three_exams: Path) -> None:
    from app.main_window import HISTORY_TAB

    window = make_window(FakeClassifier())
    _import(qtbot, window, three_exams / "a", three_exams / "b")
    history = window.history_view
    window.tabs.setCurrentIndex(HISTORY_TAB)
    qtbot.waitUntil(lambda: history.table.rowCount() == 8)

    history.search.setText("P-B")
    qtbot.waitUntil(lambda: history.table.rowCount() == 4)
    history.search.setText("acc-1")
    qtbot.waitUntil(lambda: history.table.rowCount() == 4
                    and history.table.item(0, 4).text() == "P-A")
    assert history.table.item(0, 5).text() == "ACC-1"
