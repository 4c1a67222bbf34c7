"""An example page of the exam report, for the README: ``report.png`` here.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/report_page.py R_CC L_CC R_MLO L_MLO

The four files are one woman's views, in that order. The assessments are made up, and so is
the model's output: no validated model is installed, so the page shows a stand-in's scores and
heatmap, named as such, to show where they go. Needs ``pdftoppm`` (poppler-utils).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402

from app.report_pdf import write_report_pdf  # noqa: E402
from core.exams import Exam, ExamId, ExamImage, score_exam  # noqa: E402
from core.imaging import open_image  # noqa: E402
from core.report import ReportLimits, ReportModel, gather_report  # noqa: E402
from core.store import FindingMark, ModelOpinion, NewAssessment, Store  # noqa: E402

OUT = Path(__file__).resolve().parent
VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))
STAND_IN = "stand-in (example output, not a trained model)"


def main() -> int:
    paths = [str(Path(p).resolve()) for p in sys.argv[1:5]]
    if len(paths) != 4:
        print(__doc__, file=sys.stderr)  # noqa: T201 - a script's usage
        return 1
    _app = QGuiApplication(sys.argv[:1])
    exam = Exam(id=ExamId("1.2.826.0.1.3680043.8.498.1625"), grouped_by="study_uid",
                images=tuple(ExamImage(path=p, laterality=s, view=v)  # type: ignore[arg-type]
                             for p, (s, v) in zip(paths, VIEWS, strict=True)),
                patient_id="EXAMPLE-1625", patient_name="Example^Patient",
                birth_date="1958-03-14", study_date="2026-11-30", accession="ACC-2026-0412",
                manufacturer="example data (RSNA screening set)")
    limits = ReportLimits(max_file_bytes=10**9, max_pixels=10**9)
    l_cc = open_image(paths[1], max_file_bytes=limits.max_file_bytes,
                      max_pixels=limits.max_pixels)
    height, width = l_cc.pixels.shape
    spot = (0.42 * width, 0.40 * height)
    yy, xx = np.mgrid[0:height, 0:width]
    heat = np.exp(-((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (2 * (0.06 * width) ** 2))
    result = score_exam(exam, {paths[0]: 0.08, paths[2]: 0.11, paths[1]: 0.71, paths[3]: 0.46},
                        threshold=0.5)
    with tempfile.TemporaryDirectory() as data, Store.open(Path(data) / "s.sqlite3") as store:
        reader = store.ensure_user("areader", display_name="Dr A. Reader")
        first = store.assessments.sign([
            NewAssessment(exam_id=exam.id, side="R", user_id=reader, birads="1", density="c",
                          mode="blinded"),
            NewAssessment(exam_id=exam.id, side="L", user_id=reader, birads="3", density="c",
                          mode="blinded", note="Focal asymmetry, upper outer quadrant",
                          marks=(FindingMark(paths[1], *spot),))])
        left = next(a for a in first if a.side == "L")
        store.assessments.sign([NewAssessment(
            exam_id=exam.id, side="L", user_id=reader, birads="4A", density="c",
            note="Focal asymmetry, upper outer quadrant; ultrasound advised",
            marks=left.marks, mode="with_model",
            model=ModelOpinion(STAND_IN, 0.71, "Positive", 0.5), agrees_with_model=True,
            amends_id=left.id, amend_reason="the heatmap points at the same spot")])
        report = gather_report(
            exam, history=store.assessments.history(exam.id, user_id=reader),
            reader="Dr A. Reader (areader)", model=ReportModel(STAND_IN, 0.5, result),
            model_status="", heatmaps={paths[1]: heat.astype(np.float32)},
            limits=limits,
            generated_at=datetime.now(UTC))
        pdf = write_report_pdf(report, Path(data) / "report.pdf")
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf),
                        str(OUT / "report")], check=True)
    print("saved docs/screenshots/report.png")  # noqa: T201 - a script reporting its output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
