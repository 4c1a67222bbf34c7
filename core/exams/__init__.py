"""Exams, not files: images grouped into one woman's exam, each with its breast and view, and
per-view scores folded into a score per breast and per exam.

No Qt and no model here: the command line and the app group and score the same way. The
grouping rules are in :mod:`core.exams.grouping`, the side and view rules in
:mod:`core.exams.sides`, ``exam.json`` in :mod:`core.exams.sidecar`, the score rules in
:mod:`core.exams.scores`, the 2x2 hanging in :mod:`core.exams.hanging`, and regrouping a
growing set of files with the reader's corrections kept in :mod:`core.exams.register`.
"""

from core.exams.grouping import group_exams, merge_exams, set_side, split_exam
from core.exams.hanging import (
    POSITIONS,
    Hanging,
    Position,
    chest_wall_for,
    hang,
    position_name,
)
from core.exams.model import UNKNOWN, Exam, ExamId, ExamImage, ImageFacts, ImageFile, Laterality
from core.exams.register import ExamRegister
from core.exams.scores import BreastResult, ExamResult, highest, label_of, score_exam
from core.exams.sidecar import SIDECAR_NAME, Sidecar, read_sidecar, read_sidecars
from core.exams.sides import laterality_and_view

__all__ = [
    "POSITIONS",
    "SIDECAR_NAME",
    "UNKNOWN",
    "BreastResult",
    "Exam",
    "ExamId",
    "ExamImage",
    "ExamRegister",
    "ExamResult",
    "Hanging",
    "ImageFacts",
    "ImageFile",
    "Laterality",
    "Position",
    "Sidecar",
    "chest_wall_for",
    "group_exams",
    "hang",
    "highest",
    "label_of",
    "laterality_and_view",
    "merge_exams",
    "position_name",
    "read_sidecar",
    "read_sidecars",
    "score_exam",
    "set_side",
    "split_exam",
]
