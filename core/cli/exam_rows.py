"""The exam rows ``mammo predict`` prints after its per-image rows: one per exam found among
the inputs (grouped as :mod:`core.exams.grouping` says), with its breasts' scores."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from core.exams import ExamResult, ImageFile, group_exams, read_sidecars, score_exam


def exam_results(files: Sequence[ImageFile], scores: dict[str, float | None], *,
                 threshold: float) -> list[ExamResult]:
    """Group the files into exams (reading each folder's ``exam.json``) and score each.

    A malformed ``exam.json`` is named on standard error and its folder grouped without it.
    """
    folders = sorted({Path(file.path).absolute().parent for file in files})
    sidecars, problems = read_sidecars(folders)
    for problem in problems:
        print(f"mammo: {problem.message}; that folder is grouped without it", file=sys.stderr)
    return [score_exam(exam, scores, threshold=threshold)
            for exam in group_exams(files, sidecars=sidecars)]


def exam_row(result: ExamResult) -> dict[str, object]:
    """The ``--json`` row: the exam, its patient details, its score and class at the model's
    threshold, and per breast (``L``, ``R``, and ``unknown`` when a view's side is unknown)
    its score, class and every view's path; ``not_scored`` lists the views that failed."""
    exam = result.exam
    return {
        "exam": exam.id, "grouped_by": exam.grouped_by, "patient_id": exam.patient_id,
        "study_date": exam.study_date, "accession": exam.accession,
        "score": _rounded(result.score), "label": result.label, "threshold": result.threshold,
        "breasts": {side: {"score": _rounded(breast.score), "label": breast.label,
                           "views": list(breast.views)}
                    for side, breast in result.breasts.items()},
        "not_scored": list(result.not_scored),
    }


def exam_line(result: ExamResult) -> str:
    """One line for people: the exam's class and score, then each breast's."""
    breasts = []
    for side, breast in result.breasts.items():
        views = f"{len(breast.views)} view{'s' * (len(breast.views) != 1)}"
        if not breast.views:
            breasts.append(f"{side} no image")
        elif breast.score is None:
            breasts.append(f"{side} no score ({views})")
        else:
            breasts.append(f"{side} {breast.label} {breast.score:.3f} ({views})")
    verdict = (f"{result.label}\tscore {result.score:.3f} (threshold {result.threshold:.3f})"
               if result.score is not None else "no score\t")
    failed = f"\t{len(result.not_scored)} not scored" if result.not_scored else ""
    return f"exam {result.exam.id}\t{verdict}\t{', '.join(breasts)}{failed}"


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(score, 6)
