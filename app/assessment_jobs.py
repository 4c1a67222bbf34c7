"""The work the assessment controller hands to workers: store calls and the exam's PDF report
(plain functions over core services; no widgets)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.report_pdf import write_report_pdf
from app.worker import Job, Report
from core.exams import Exam
from core.inference.classifier import Prediction
from core.report import THUMBNAIL_SIDE, ReportLimits, ReportModel, gather_report
from core.store import AssessmentRecord, NewAssessment, Store, UserId


@dataclass(frozen=True)
class Assessments:
    """The reader's assessments of one exam, oldest first; ``signed`` those signed just now."""

    exam_id: str
    history: list[AssessmentRecord]
    signed: list[AssessmentRecord]


def load_assessments_job(store: Store, exam_id: str, *, user_id: UserId) -> Job:
    return lambda _cancel, _report: Assessments(
        exam_id, store.assessments.history(exam_id, user_id=user_id), [])


def sign_assessments_job(store: Store, drafts: list[NewAssessment], *, exam_id: str,
                         user_id: UserId) -> Job:
    """Sign the assessments (all or none) and read the exam's history back."""

    def job(_cancel: threading.Event, _report: Report) -> Assessments:
        signed = store.assessments.sign(drafts)
        return Assessments(exam_id, store.assessments.history(exam_id, user_id=user_id), signed)

    return job


@dataclass(frozen=True)
class ReportRequest:
    """Everything the report needs that the window knows (the rest is read from the store)."""

    exam: Exam
    user_id: UserId
    reader: str
    model: ReportModel | None
    model_status: str
    predictions: Mapping[str, Prediction]
    limits: ReportLimits


def export_report_job(store: Store, request: ReportRequest, path: Path) -> Job:
    """Gather the exam's report (opening its views) and write it as a one-page PDF."""

    def job(cancel: threading.Event, _report: Report) -> Path:
        heatmaps = {}
        if request.model is not None:  # no heatmap where the model's output is not shown
            heatmaps = {p: prediction.heatmap_on_image(max_side=2 * THUMBNAIL_SIDE)
                        for p, prediction in request.predictions.items()}
        report = gather_report(
            request.exam, history=store.assessments.history(request.exam.id,
                                                            user_id=request.user_id),
            reader=request.reader, model=request.model, model_status=request.model_status,
            heatmaps=heatmaps, limits=request.limits, generated_at=datetime.now(UTC),
            cancel=cancel)
        return write_report_pdf(report, path)

    return job
