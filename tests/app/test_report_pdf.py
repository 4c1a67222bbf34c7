"""The exam's one-page PDF report, looked at as a page (pdftoppm) and as text (pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.report_pdf import write_report_pdf
from core.exams import score_exam
from core.report import RESEARCH_STATEMENT, ExamReport, ReportLimits, ReportModel, gather_report
from core.store import FindingMark, ModelOpinion, NewAssessment, Store, UserRecord
from tests.exam_factories import write_exam


@pytest.fixture(autouse=True)
def _poppler() -> None:
    # A missing tool is a failure with the fix, never a skip.
    missing = [t for t in ("pdftoppm", "pdftotext") if shutil.which(t) is None]
    assert not missing, f"{missing} missing: apt-get install poppler-utils (scripts/test does)"

LIMITS = ReportLimits(max_file_bytes=10**8, max_pixels=10**8)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def page_images(pdf: Path) -> list[np.ndarray]:
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(prefix)], check=True)
    return [np.asarray(Image.open(p).convert("RGB"))
            for p in sorted(pdf.parent.glob(f"{prefix.name}*.png"))]


def reddish(page: np.ndarray) -> int:
    """Pixels of the heatmap's hot colours among the pictures (the text above is left out: the
    research statement is orange-brown)."""
    height = page.shape[0]
    views = page[int(height * 0.33):int(height * 0.88)].astype(int)
    return int(((views[..., 0] - views[..., 1] > 60) & (views[..., 2] < 90)).sum())


def page_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True)
    return unicodedata.normalize("NFKC", done.stdout)  # "ﬁ" ligatures back to "fi"


def exam_path(folder: str, view: str) -> str:
    return str(Path(folder) / f"P7_{view}.png")


def report_of(store: Store, user: UserRecord, exam, *, model: ReportModel | None,
              status: str = "", heatmaps: dict | None = None) -> ExamReport:
    return gather_report(exam, history=store.assessments.history(exam.id, user_id=user.id),
                         reader="Dr Reader (reader)", model=model, model_status=status,
                         heatmaps=heatmaps or {}, limits=LIMITS, generated_at=NOW)


def test_the_report_is_one_page_with_identity_assessments_model_and_statement(
        qapp, store: Store, user: UserRecord, tmp_path: Path) -> None:
    exam = write_exam(tmp_path / "exam")
    scores = {p: 0.1 for p in exam.paths} | {exam_path(str(tmp_path / "exam"), "L_CC"): 0.83}
    result = score_exam(exam, scores, threshold=0.5)
    shown = ModelOpinion(model_id="densenet-test-7", score=0.83, label="Positive", threshold=0.5)
    store.assessments.sign([
        NewAssessment(exam_id=exam.id, side="R", user_id=user.id, birads="1", density="b"),
        NewAssessment(exam_id=exam.id, side="L", user_id=user.id, birads="4B", density="c",
                      note="Irregular mass, upper outer quadrant", mode="with_model",
                      model=shown, agrees_with_model=True,
                      marks=(FindingMark(exam_path(str(tmp_path / "exam"), "L_CC"), 60.0,
                                         100.0),)),
    ])
    heat = np.zeros((320, 240), dtype=np.float32)
    heat[80:120, 40:80] = 0.95
    report = report_of(store, user, exam, heatmaps={exam.paths[1]: heat},
                       model=ReportModel(model_id="densenet-test-7", threshold=0.5,
                                         result=result))

    pdf = write_report_pdf(report, tmp_path / "report.pdf")

    (page,) = page_images(pdf)
    assert page.shape[0] > page.shape[1]  # portrait
    assert page.std() > 20  # not blank: text, rules and pictures
    yellow = (page[..., 0] > 200) & (page[..., 1] > 170) & (page[..., 2] < 90)
    assert yellow.sum() > 10  # the finding mark is drawn
    assert reddish(page) > 20  # the heatmap's hot spot
    text = " ".join(page_text(pdf).split())
    for expected in (RESEARCH_STATEMENT, "PID-0042", "Doe, Jane", "ACC-991", "2026-11-30",
                     "4B — moderate suspicion", "1 — negative", "c — heterogeneously dense",
                     "Irregular mass", "densenet-test-7", "threshold 0.500", "0.830 Positive",
                     "reader agrees", "Signed by Dr Reader (reader)", "R CC", "L MLO"):
        assert expected in text, expected


def test_a_report_read_without_model_says_so_and_shows_no_score(
        qapp, store: Store, user: UserRecord, tmp_path: Path) -> None:
    exam = write_exam(tmp_path / "exam")
    store.assessments.sign([NewAssessment(exam_id=exam.id, side="R", user_id=user.id,
                                          birads="2", density="a")])
    heat = np.ones((320, 240), dtype=np.float32)
    report = report_of(store, user, exam, model=None, status="Read without model",
                       heatmaps={exam.paths[0]: heat})

    pdf = write_report_pdf(report, tmp_path / "report.pdf")

    (page,) = page_images(pdf)
    assert reddish(page) == 0  # no heatmap without the model
    text = " ".join(page_text(pdf).split())
    assert "Read without model" in text and "threshold" not in text
    assert "2 — benign" in text and "not assessed" in text  # the left breast was not read


def test_an_unsigned_report_says_it_is_not_signed(qapp, store: Store, user: UserRecord,
                                                  tmp_path: Path) -> None:
    exam = write_exam(tmp_path / "exam")
    report = report_of(store, user, exam, model=None, status="No model installed")

    text = " ".join(page_text(write_report_pdf(report, tmp_path / "r.pdf")).split())

    assert "Not signed" in text and "Signed by" not in text
