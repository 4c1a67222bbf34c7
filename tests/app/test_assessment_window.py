"""The per-breast assessment in the main window: a blinded first read hides the model's output
everywhere until each breast is signed; without a model the breasts are assessed all the
same; the report is exported from the exam shown."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.worklist_model import WorklistModel
from tests.app.factories import FakeClassifier
from tests.exam_factories import write_exam

WAIT_MS = 30_000


def open_exam(qtbot, window, folder: Path) -> None:
    with qtbot.waitSignal(window.batch_finished, timeout=WAIT_MS):
        window.import_paths([str(folder)])
    qtbot.waitUntil(lambda: window.breast_panel.signed.text() == "Not assessed yet.",
                    timeout=WAIT_MS)


def test_a_blinded_first_read_hides_the_model_in_the_window_until_signed(
        qtbot, make_window, settings, store, user, tmp_path: Path) -> None:
    settings.blinded_first_read = True  # as IT presets it
    exam = write_exam(tmp_path / "exam")
    window = make_window(FakeClassifier())
    open_exam(qtbot, window, tmp_path / "exam")
    panel, result, hanging = window.breast_panel, window.result_panel, window.controls.hanging

    for column in ("Score", "Class"):
        assert window.worklist.tree.isColumnHidden(WorklistModel.COLUMNS.index(column))
    assert "Blinded first read" in result.status.text()
    assert result.probability.text() == "—" and result.breakdown.rowCount() == 0
    assert all(viewer.model_hidden for viewer in hanging.viewers())

    panel.forms["R"].set_birads("1")
    panel.forms["L"].set_birads("2")
    with qtbot.waitSignal(window.assessments.model_visibility_changed, timeout=WAIT_MS):
        panel.sign.click()

    assert result.probability.text() != "—" and "Blinded" not in result.status.text()
    assert not any(viewer.model_hidden for viewer in hanging.viewers())
    history = store.assessments.history(exam.id, user_id=user.id)
    assert [(a.side, a.mode) for a in history] == [("R", "blinded"), ("L", "blinded")]


def test_the_breasts_are_assessed_in_the_window_without_a_model(
        qtbot, make_window, store, user, tmp_path: Path) -> None:
    exam = write_exam(tmp_path / "exam")
    window = make_window(None)
    open_exam(qtbot, window, tmp_path / "exam")
    window.breast_panel.forms["L"].set_birads("4A")

    with qtbot.waitSignal(window.assessments.assessments_signed, timeout=WAIT_MS):
        window.breast_panel.sign.click()

    (signed,) = store.assessments.history(exam.id, user_id=user.id)
    assert (signed.side, signed.birads, signed.mode) == ("L", "4A", "without_model")
    assert window.assessments.export_action.isEnabled()


def test_the_report_of_the_exam_shown_is_exported(qtbot, make_window, tmp_path: Path) -> None:
    write_exam(tmp_path / "exam")
    window = make_window(FakeClassifier())
    open_exam(qtbot, window, tmp_path / "exam")
    window.breast_panel.forms["R"].set_birads("2")
    with qtbot.waitSignal(window.assessments.assessments_signed, timeout=WAIT_MS):
        window.breast_panel.sign.click()
    pdf = tmp_path / "report.pdf"

    with qtbot.waitSignal(window.assessments.report_exported, timeout=WAIT_MS):
        window.assessments.export_report(pdf)

    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "fake-densenet-1" in text and "2 — benign" in text and "Signed by" in text
