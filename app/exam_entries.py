"""What the worklist lists: exams, each with its images' rows, in triage order (no Qt).

One :class:`WorklistRow` per image file (its reading state, score, error), and one
:class:`ExamEntry` per exam (:mod:`core.exams`): the rows of its images in hanging order, its
per-breast and exam scores, and where the reader is with it.

Triage order: exams with a score first, highest exam score first; then exams still being read
or read without a model, in the order they came; last, exams none of whose images could be
read (errors, a cancelled batch), which the reader can retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from app.score_text import score_text
from core.exams import (
    UNKNOWN,
    Exam,
    ExamId,
    ExamImage,
    ExamResult,
    ImageFacts,
    hang,
    score_exam,
)
from core.inference.classifier import Prediction
from core.store import ReadingRecord


class RowStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    NOT_SCORED = "not scored"
    CANCELLED = "cancelled"


FAILED = (RowStatus.ERROR, RowStatus.CANCELLED)
PENDING = (RowStatus.QUEUED, RowStatus.RUNNING)


class ExamState(StrEnum):
    """Where the reader is with an exam: not opened yet, opened, every reading decided."""

    UNREAD = "unread"
    READ = "read"
    SIGNED = "signed"


@dataclass(frozen=True)
class WorklistRow:
    """What the worklist knows about one file. ``prediction`` only for images read in this
    session (it carries the heatmap); stored readings from earlier sessions have ``reading``.
    ``facts``: what opening the file told about its exam (DICOM identity, side and view)."""

    path: str
    status: RowStatus
    reading: ReadingRecord | None = None
    prediction: Prediction | None = None
    error: str | None = None
    facts: ImageFacts | None = None

    @property
    def score(self) -> float | None:
        if self.reading is not None:
            return self.reading.score
        return self.prediction.score if self.prediction is not None else None

    @property
    def label(self) -> str | None:
        if self.reading is not None:
            return self.reading.label
        return self.prediction.label if self.prediction is not None else None

    @property
    def threshold(self) -> float | None:
        if self.reading is not None:
            return self.reading.threshold
        return self.prediction.threshold if self.prediction is not None else None

    @property
    def score_text(self) -> str:
        """The score as shown: never on the other side of the threshold than its class."""
        if self.score is None or self.threshold is None:
            return ""
        return score_text(score=self.score, threshold=self.threshold,
                          positive=self.label == "Positive")

    @property
    def peak(self) -> tuple[float, float] | None:
        """Where the model looked most, in the file's pixels (None: not known)."""
        if self.reading is not None and self.reading.heatmap_peak_x is not None:
            return self.reading.heatmap_peak_x, self.reading.heatmap_peak_y or 0.0
        return self.prediction.heatmap_peak if self.prediction is not None else None


@dataclass(frozen=True)
class ExamEntry:
    """One exam as listed: its rows (hanging order, failed images last), its result (None
    when no view is scored, or its views were scored at different thresholds) and state."""

    exam: Exam
    rows: tuple[WorklistRow, ...]
    result: ExamResult | None
    state: ExamState
    mixed_thresholds: bool = False

    @property
    def id(self) -> ExamId:
        return self.exam.id

    @property
    def failed(self) -> bool:
        """None of its images could be read (errors or a cancelled batch)."""
        return all(r.status in FAILED for r in self.rows)

    def row(self, path: str) -> WorklistRow | None:
        return next((r for r in self.rows if r.path == path), None)

    def count(self, *statuses: RowStatus) -> int:
        return sum(1 for r in self.rows if r.status in statuses)

    @property
    def score_text(self) -> str:
        result = self.result
        if result is None or result.score is None:
            return ""
        return score_text(score=result.score, threshold=result.threshold,
                          positive=result.label == "Positive")

    @property
    def status_text(self) -> str:
        """"reading 2/4", "error", "cancelled", or the state with failures counted."""
        pending = self.count(*PENDING)
        if pending:
            return f"reading {len(self.rows) - pending}/{len(self.rows)}"
        if self.failed:
            return "cancelled" if self.count(RowStatus.ERROR) == 0 else "error"
        errors = self.count(*FAILED)
        return f"{self.state.value} · {errors} not read" if errors else self.state.value

    @property
    def title(self) -> str:
        """The patient's name (DICOM ``Family^Given`` as "FAMILY, Given"), else the exam's
        name (a folder's name, a file-name prefix, a Study UID)."""
        name = self.exam.patient_name
        if name:
            family, _, given = name.partition("^")
            return f"{family}, {given.replace('^', ' ')}".strip(", ") if given else family
        if self.exam.grouped_by in ("folder", "hand"):
            return Path(self.exam.id.split(" (")[0]).name or self.exam.id
        return Path(self.exam.id).name if self.exam.grouped_by == "name" else self.exam.id

    @property
    def sync_state(self) -> str | None:
        """The least settled sync state of its readings: conflict, pending, synced."""
        states = {r.reading.sync_state for r in self.rows if r.reading is not None}
        return next((s for s in ("conflict", "pending", "synced") if s in states), None)


def describe_image(image: ExamImage) -> str:
    """"R CC", "L, view unknown", "side unknown, CC" or "side and view unknown"."""
    side = "" if image.laterality == UNKNOWN else image.laterality
    view = "" if image.view == UNKNOWN else image.view
    if side and view:
        return f"{side} {view}"
    if side:
        return f"{side}, view unknown"
    return f"side unknown, {view}" if view else "side and view unknown"


def build_entry(exam: Exam, rows: dict[str, WorklistRow], *, opened: bool,
                signed: bool) -> ExamEntry:
    """The entry of ``exam`` from its images' rows; ``opened``: the reader has looked at it,
    ``signed``: its assessment is signed (every reading decided counts as signed too)."""
    failed = frozenset(p for p in exam.paths if rows[p].status in FAILED)
    hung = [i.path for i in hang(exam, skip=failed).ordered()]
    order = sorted(exam.paths, key=lambda p: (p in failed, hung.index(p)))
    ordered = tuple(rows[p] for p in order)
    scored = [r for r in ordered if r.status == RowStatus.DONE and r.score is not None]
    thresholds = {r.threshold for r in scored}
    result = None
    if len(thresholds) == 1:
        scores = {r.path: r.score for r in scored}
        result = score_exam(exam, scores, threshold=thresholds.pop())  # type: ignore[arg-type]
    readings = [r.reading for r in ordered if r.reading is not None]
    decided = bool(readings) and all(r.feedback is not None for r in readings)
    if signed or decided:
        state = ExamState.SIGNED
    elif opened or any(r.feedback is not None for r in readings):
        state = ExamState.READ
    else:
        state = ExamState.UNREAD
    return ExamEntry(exam=exam, rows=ordered, result=result, state=state,
                     mixed_thresholds=len(thresholds) > 1)


def triage_key(entry: ExamEntry, arrival: int) -> tuple[int, float, int]:
    """Sort key: scored exams by score (highest first), then unscored, then failed ones."""
    score = entry.result.score if entry.result is not None else None
    if score is not None:
        return 0, -score, arrival
    return (2 if entry.failed else 1), 0.0, arrival
