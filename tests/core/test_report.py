"""The report's content: the views hung as on screen, marks on their tissue, the model's
output only where it is shown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from core.exams import score_exam
from core.report import ReportLimits, ReportModel, gather_report
from core.store import (
    AssessmentId,
    AssessmentRecord,
    FindingMark,
    ModelOpinion,
    ReadingMode,
    UserId,
)
from tests.exam_factories import SIZE, write_exam

LIMITS = ReportLimits(max_file_bytes=10**8, max_pixels=10**8)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def record(side: str, birads: str, *, n: int, marks: tuple[FindingMark, ...] = (),
           mode: ReadingMode = "without_model", amends: str | None = None,
           model: ModelOpinion | None = None) -> AssessmentRecord:
    return AssessmentRecord(
        id=AssessmentId(f"a{n}"), exam_id="P7", side=side, user_id=UserId(1),  # type: ignore[arg-type]
        username="alice", birads=birads, density="b", marks=marks, note="", mode=mode,
        model=model, agrees_with_model=None, signed_at=datetime(2026, 12, 1, 9, n, tzinfo=UTC),
        amends_id=None if amends is None else AssessmentId(amends),
        amend_reason="" if amends is None else "model shows a second focus")


def test_views_hang_with_chest_walls_meeting_and_marks_on_their_tissue(tmp_path: Path) -> None:
    exam = write_exam(tmp_path)
    r_cc = exam.paths[0]
    width, height = SIZE
    mark = FindingMark(r_cc, 30.0, 100.0)  # towards the nipple: the chest wall is on the right

    report = gather_report(exam, history=[record("R", "4A", n=1, marks=(mark,))],
                           reader="alice", model=None, model_status="Read without model",
                           heatmaps={}, limits=LIMITS, generated_at=NOW)

    assert [t.view if t else None for t in report.hanging] == ["CC", "CC", "MLO", "MLO"]
    assert [t.side if t else None for t in report.hanging] == ["R", "L", "R", "L"]
    right_cc, left_cc = report.hanging[0], report.hanging[1]
    assert right_cc is not None and left_cc is not None
    # Stored as scanners store them (chest wall against the breast's own edge): not mirrored.
    assert not right_cc.mirrored and not left_cc.mirrored
    assert right_cc.marks == ((30.0 * right_cc.pixels.shape[1] / width,
                               100.0 * right_cc.pixels.shape[0] / height),)
    # The right breast's chest wall is on the picture's right edge: brighter there.
    assert right_cc.pixels[:, -10:].mean() > right_cc.pixels[:, :10].mean()


def test_a_picture_facing_the_other_way_is_mirrored_with_its_marks(tmp_path: Path) -> None:
    exam = write_exam(tmp_path)
    right_cc = exam.paths[0]
    stored = np.asarray(Image.open(right_cc))
    Image.fromarray(stored[:, ::-1].copy()).save(right_cc)  # now its chest wall is on the left
    mark = FindingMark(right_cc, 30.0, 100.0)

    report = gather_report(exam, history=[record("R", "4A", n=1, marks=(mark,))],
                           reader="alice", model=None, model_status="", heatmaps={},
                           limits=LIMITS, generated_at=NOW)

    thumb = report.hanging[0]
    assert thumb is not None and thumb.mirrored
    w = thumb.pixels.shape[1]
    assert thumb.marks == ((w - 30.0 * w / SIZE[0], 100.0 * thumb.pixels.shape[0] / SIZE[1]),)
    assert thumb.pixels[:, -10:].mean() > thumb.pixels[:, :10].mean()  # hung as on screen


def test_the_model_and_its_heatmaps_appear_only_when_shown(tmp_path: Path) -> None:
    exam = write_exam(tmp_path)
    result = score_exam(exam, dict.fromkeys(exam.paths, 0.3), threshold=0.5)
    heat = {exam.paths[1]: np.ones((8, 6), dtype=np.float32)}
    blinded = record("L", "2", n=1, mode="blinded")
    shown = ModelOpinion(model_id="m", score=0.3, label="Negative", threshold=0.5)
    amended = record("L", "3", n=2, mode="with_model", model=shown, amends="a1")

    hidden = gather_report(exam, history=[blinded], reader="alice", model=None,
                           model_status="withheld", heatmaps=heat, limits=LIMITS,
                           generated_at=NOW)
    with_model = gather_report(exam, history=[blinded, amended], reader="alice",
                               model=ReportModel("m", 0.5, result), model_status="",
                               heatmaps=heat, limits=LIMITS, generated_at=NOW)

    assert all(t is None or t.heatmap is None for t in hidden.hanging)
    assert [b.score for b in hidden.breasts] == [None, None]
    left_cc = with_model.hanging[1]
    assert left_cc is not None and left_cc.heatmap is not None
    assert left_cc.heatmap.shape == left_cc.pixels.shape
    right, left = with_model.breasts
    assert (right.side, right.assessment, right.score) == ("R", None, 0.3)
    assert (left.assessment, left.first_read, left.label) == (amended, blinded, "Negative")
    assert with_model.signed_at == amended.signed_at


def test_a_missing_view_leaves_its_cell_empty_and_an_unreadable_one_says_why(
        tmp_path: Path) -> None:
    exam = write_exam(tmp_path)
    Path(exam.paths[3]).write_bytes(b"not a png")  # L MLO
    shorter = replace(exam, images=exam.images[1:])

    report = gather_report(shorter, history=[], reader="alice", model=None, model_status="",
                           heatmaps={}, limits=LIMITS, generated_at=NOW)

    assert report.hanging[0] is None  # R CC left out of the exam
    broken = report.hanging[3]
    assert broken is not None and broken.pixels is None and broken.error
    assert report.signed_at is None
