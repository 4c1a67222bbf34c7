"""The reader's decision per breast: blinded first read and amendment, reading without a
model, the consistency question, unchanged saves, and marks placed in the file's pixels."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QHBoxLayout, QMessageBox, QWidget

from app.assessment_controller import AssessmentController
from app.breast_decision_panel import BreastDecisionPanel
from app.display_image import make_display_image
from app.viewer import ImageViewer
from app.worker import JobPools
from core.exams import Exam, ExamResult, score_exam
from core.report import ReportLimits
from core.store import Store, UserRecord
from tests.app.helpers import open_message_boxes
from tests.exam_factories import write_exam

LIMITS = ReportLimits(max_file_bytes=10**8, max_pixels=10**8)
WAIT_MS = 30_000


@dataclass
class Reading:
    """The panel and its controller on one exam, with a viewer showing one of its views."""

    panel: BreastDecisionPanel
    controller: AssessmentController
    viewer: ImageViewer
    exam: Exam
    shown: list[str]  # the path the viewer shows (a list, so the test can change it)


@pytest.fixture
def reading(qtbot, store: Store, user: UserRecord, pools: JobPools, tmp_path: Path
            ) -> Iterator[Callable[..., Reading]]:
    hosts: list[QWidget] = []

    def build(*, blinded: bool = False, result: ExamResult | None = None,
              model_id: str | None = None) -> Reading:
        exam = write_exam(tmp_path / "exam")
        host = QWidget()
        panel = BreastDecisionPanel()
        viewer = ImageViewer()
        layout = QHBoxLayout(host)
        layout.addWidget(viewer, 1)
        layout.addWidget(panel)
        host.resize(1100, 800)
        controller = AssessmentController(panel, store=store, user=user, pools=pools,
                                          blinded=blinded, limits=LIMITS, parent=host)
        shown = [exam.paths[0]]
        controller.attach_viewer(viewer, lambda: shown[0])
        qtbot.addWidget(host)
        host.show()
        hosts.append(host)
        controller.show_exam(exam, result=result, model_id=model_id)
        qtbot.waitUntil(lambda: panel.signed.text() in ("Not assessed yet.",)
                        or panel.signed.text().startswith("Signed by"), timeout=WAIT_MS)
        return Reading(panel, controller, viewer, exam, shown)

    yield build
    for host in hosts:
        host.close()


def scored(exam: Exam, *, right: float, left: float) -> ExamResult:
    """Scores per view: each breast's views get its score."""
    scores = {image.path: right if image.laterality == "R" else left for image in exam.images}
    return score_exam(exam, scores, threshold=0.5)


def sign(qtbot, r: Reading) -> list:
    with qtbot.waitSignal(r.controller.assessments_signed, timeout=WAIT_MS) as signed:
        r.panel.sign.click()
    return signed.args[0]


def test_a_blinded_first_read_then_an_amendment_keeps_both(qtbot, reading, store, user
                                                           ) -> None:
    r = reading(blinded=True, model_id="fake-densenet-1", result=None)
    r.controller.show_exam(r.exam, result=scored(r.exam, right=0.12, left=0.83),
                           model_id="fake-densenet-1")
    right, left = r.panel.forms["R"], r.panel.forms["L"]
    assert not r.controller.model_visible
    assert "hidden" in left.model.text() and "0.83" not in left.model.text()
    assert not left.verdict.isEnabled()
    assert "Blinded first read" in r.panel.model_status.text()
    assert r.viewer.model_hidden  # no heatmap, no peak

    right.set_birads("1")
    left.set_birads("3")
    left.set_density("c")
    with qtbot.waitSignal(r.controller.model_visibility_changed, timeout=WAIT_MS) as revealed:
        first = sign(qtbot, r)

    assert revealed.args == [True] and r.controller.model_visible
    assert {a.side: (a.birads, a.mode) for a in first} == {"R": ("1", "blinded"),
                                                           "L": ("3", "blinded")}
    assert "0.830 Positive" in left.model.text() and left.verdict.isEnabled()
    assert not r.viewer.model_hidden

    left.set_birads("4B")
    left.set_verdict(True)
    assert r.panel.sign.text() == "Sign amendment" and r.panel.reason.isVisible()
    r.panel.sign.click()  # no reason yet: refused
    assert r.panel.reason_error.isVisible()
    assert len(store.assessments.history(r.exam.id, user_id=user.id)) == 2
    r.panel.reason.setText("the model points at a focus I had missed")
    (amendment,) = sign(qtbot, r)

    history = store.assessments.history(r.exam.id, user_id=user.id)
    blinded_left = next(a for a in first if a.side == "L")
    assert history == [*first, amendment]  # the first read is kept; the right is not re-signed
    assert (amendment.amends_id, amendment.birads, amendment.mode) == (blinded_left.id, "4B",
                                                                       "with_model")
    assert amendment.amend_reason == "the model points at a focus I had missed"
    assert amendment.model is not None and amendment.model.score == pytest.approx(0.83)
    assert amendment.agrees_with_model is True
    assert r.panel.history.count() == 3


def test_breasts_are_assessed_without_any_model(qtbot, reading, store, user) -> None:
    r = reading(result=None, model_id=None)
    assert "No model installed" in r.panel.model_status.text()
    r.panel.forms["L"].set_birads("2")
    r.panel.forms["L"].note.setText("benign calcifications")

    (signed,) = sign(qtbot, r)

    assert (signed.side, signed.birads, signed.mode, signed.model) == ("L", "2",
                                                                       "without_model", None)
    assert signed.note == "benign calcifications"
    assert store.count_readings() == 0 and not r.controller.model_visible


def test_the_reader_may_read_without_the_model(qtbot, reading) -> None:
    r = reading(model_id="fake-densenet-1", result=None)
    r.controller.show_exam(r.exam, result=scored(r.exam, right=0.7, left=0.2),
                           model_id="fake-densenet-1")
    assert r.controller.model_visible

    with qtbot.waitSignal(r.controller.model_visibility_changed) as hidden:
        r.panel.without_model.setChecked(True)
    r.panel.forms["R"].set_birads("4A")
    (signed,) = sign(qtbot, r)

    assert hidden.args == [False]
    assert "0.7" not in r.panel.forms["R"].model.text()
    assert (signed.mode, signed.model, signed.agrees_with_model) == ("without_model", None,
                                                                     None)


def test_agreeing_with_a_negative_model_on_a_suspicious_breast_asks_first(
        qtbot, reading, store, user) -> None:
    r = reading(model_id="fake-densenet-1", result=None)
    r.controller.show_exam(r.exam, result=scored(r.exam, right=0.1, left=0.2),
                           model_id="fake-densenet-1")
    right = r.panel.forms["R"]
    right.set_birads("4C")
    right.set_verdict(True)

    r.panel.sign.click()
    qtbot.waitUntil(lambda: bool(open_message_boxes()), timeout=WAIT_MS)
    (box,) = open_message_boxes()
    assert "Negative" in box.text() and "BI-RADS 4C" in box.text()
    go_back = next(b for b in box.buttons()
                   if box.buttonRole(b) == QMessageBox.ButtonRole.RejectRole)
    go_back.click()
    qtbot.waitUntil(lambda: not open_message_boxes())
    assert store.assessments.history(r.exam.id, user_id=user.id) == []

    r.panel.sign.click()
    qtbot.waitUntil(lambda: bool(open_message_boxes()), timeout=WAIT_MS)
    (box,) = open_message_boxes()
    with qtbot.waitSignal(r.controller.assessments_signed, timeout=WAIT_MS):
        next(b for b in box.buttons()
             if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole).click()
    (signed,) = store.assessments.history(r.exam.id, user_id=user.id)
    assert (signed.birads, signed.agrees_with_model) == ("4C", True)


def test_saving_an_unchanged_assessment_does_nothing(qtbot, reading, store, user) -> None:
    r = reading()
    r.panel.forms["R"].set_birads("2")
    sign(qtbot, r)
    assert r.panel.sign.text() == "Sign assessment"  # nothing changed: no amendment pending

    with qtbot.assertNotEmitted(r.controller.assessments_signed, wait=300):
        r.panel.sign.click()

    assert "Nothing changed" in r.panel.signed.text()
    assert len(store.assessments.history(r.exam.id, user_id=user.id)) == 1


def test_a_mark_on_a_mirrored_right_breast_is_stored_in_the_files_pixels(
        qtbot, reading, store, user) -> None:
    r = reading()
    path = r.exam.paths[0]  # R CC
    stored = np.asarray(Image.open(path))[:, ::-1].copy()  # facing the wrong way: mirrored
    Image.fromarray(stored).save(path)
    height, width = stored.shape
    display = make_display_image(stored.astype(np.float32) / 255, chest_wall="right")
    r.viewer.set_image(display)
    assert r.viewer.image is not None and r.viewer.image.mirrored
    target = (50.0, 120.0)  # in the file's pixels: near its left edge, so drawn on the right
    rect = r.viewer.image_rect()
    on_screen = QPoint(round(rect.left() + (width - target[0]) * rect.width() / width),
                       round(rect.top() + target[1] * rect.height() / height))
    assert on_screen.x() > rect.center().x()

    r.panel.place_mark.setChecked(True)
    qtbot.mouseClick(r.viewer, Qt.MouseButton.LeftButton, pos=on_screen)

    (mark,) = r.panel.forms["R"].marks
    tolerance = width / rect.width() + 0.1  # one screen pixel
    assert mark.image_path == path
    assert mark.x == pytest.approx(target[0], abs=tolerance)
    assert mark.y == pytest.approx(target[1], abs=tolerance)
    assert r.viewer.marks == [(mark.x, mark.y)]  # drawn where it was placed
    r.panel.forms["R"].set_birads("4A")
    (signed,) = sign(qtbot, r)
    assert signed.marks == (mark,)
    r.viewer.set_image(display)  # the picture loaded again: its marks are drawn again
    assert r.viewer.marks == [(mark.x, mark.y)]

    qtbot.mouseClick(r.viewer, Qt.MouseButton.LeftButton, pos=on_screen)  # on it: removed
    assert r.panel.forms["R"].marks == () and r.viewer.marks == []


def test_export_report_writes_the_exam_as_signed(qtbot, reading, tmp_path: Path) -> None:
    r = reading(blinded=True, model_id="fake-densenet-1", result=None)
    r.controller.show_exam(r.exam, result=scored(r.exam, right=0.12, left=0.83),
                           model_id="fake-densenet-1")
    pdf = tmp_path / "report.pdf"

    with qtbot.waitSignal(r.controller.report_exported, timeout=WAIT_MS):
        r.controller.export_report(pdf)

    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "withheld" in text and "0.830" not in text and "Not signed" in text
