"""The model's result for the exam shown: its score, each breast's and each view's, every one
calibrated and stated with its threshold; the provenance of the view in focus; the research-
use notice.

A breast's score is its highest view's, the exam's the higher breast's (:mod:`core.exams.
scores`); the view that decided a breast is marked. Every number goes through
:mod:`app.score_text`, so a score never looks as if it lay on the other side of the threshold
than the class beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.exam_entries import (
    FAILED,
    PENDING,
    ExamEntry,
    RowStatus,
    WorklistRow,
    describe_image,
)
from app.score_text import score_text, threshold_text
from app.theme import NEGATIVE_COLOR, POSITIVE_COLOR, RESEARCH_STYLE
from core.inference.classifier import ModelInfo

RESEARCH_NOTICE = "Research use only — not for diagnosis"
NO_MODEL_TEXT = "No usable model: images are not scored"
"""Where there is no room for the reason; the banner and About give the loader's message."""
BREAST_NAMES = {"R": "Right breast", "L": "Left breast", "unknown": "Side unknown"}
BREAKDOWN_COLUMNS = ("", "Score", "Class", "Threshold")
DECIDES = " ◂"  # marks the view whose score is its breast's


@dataclass(frozen=True)
class ResultView:
    """The provenance of one scored image."""

    score: float
    label: str
    threshold: float
    model_id: str
    model_version: str
    engine: str
    device: str


def result_for(row: WorklistRow, info: ModelInfo | None) -> ResultView | None:
    """The result of ``row``: from its stored reading, else from this session's prediction."""
    if row.reading is not None:
        r = row.reading
        return ResultView(score=r.score, label=r.label, threshold=r.threshold,
                          model_id=r.model_id, model_version=r.model_sha256[:12],
                          engine=r.engine, device=r.device)
    if row.prediction is not None and info is not None:
        p = row.prediction
        return ResultView(score=p.score, label=p.label, threshold=p.threshold,
                          model_id=info.model_id, model_version=info.model_sha256[:12],
                          engine=info.engine, device=info.device)
    return None


def status_of(entry: ExamEntry | None, row: WorklistRow | None) -> str:
    """Why the panel shows less than a full result: the exam still being read, not read at
    all, or the view in focus not read."""
    if entry is not None and entry.count(*PENDING):
        return "Reading…"
    if entry is not None and entry.failed:
        return f"Not read: {entry.rows[0].error or 'the batch was cancelled.'}"
    if row is not None and row.status in FAILED:
        return f"This view was not read: {row.error or 'the batch was cancelled.'}"
    return ""


class ResultPanel(QGroupBox):
    """The exam's calibrated probability and class at the shown threshold (large), a table of
    the exam, each breast and each view, and the model, engine and device."""

    def __init__(self, *, model_installed: bool, performance: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__("Model result", parent)
        self.probability = QLabel()
        self.label = QLabel()
        self.threshold = QLabel()
        self.model = QLabel()
        self.engine = QLabel()
        self.status = QLabel()
        self.status.setWordWrap(True)
        big = self.probability.font()
        big.setPointSizeF(big.pointSizeF() * 1.6)
        big.setBold(True)
        self.probability.setFont(big)
        self.label.setFont(big)
        self.breakdown = QTableWidget(0, len(BREAKDOWN_COLUMNS))
        self.breakdown.setHorizontalHeaderLabels(list(BREAKDOWN_COLUMNS))
        self.breakdown.verticalHeader().setVisible(False)
        # One text line per row: the whole exam (7 rows) fits without scrolling.
        self.breakdown.verticalHeader().setDefaultSectionSize(
            self.breakdown.fontMetrics().height() + 6)
        self.breakdown.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.breakdown.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.breakdown.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.breakdown.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch)
        self.breakdown.setToolTip(f"A breast scores its highest view ({DECIDES.strip()}), "
                                  "the exam its higher breast")
        self.performance = QLabel(f"Measured on {performance}" if performance else "")
        self.performance.setWordWrap(True)
        self.performance.setVisible(bool(performance))
        self.research = QLabel(RESEARCH_NOTICE)
        self.research.setStyleSheet(RESEARCH_STYLE)
        self.research.setWordWrap(True)
        exam = QHBoxLayout()
        exam.addWidget(self.probability)
        exam.addSpacing(12)
        exam.addWidget(self.label)
        exam.addStretch(1)
        form = QFormLayout()
        form.addRow("Exam", exam)
        form.addRow("Threshold", self.threshold)
        provenance = QFormLayout()
        provenance.addRow("Model", self.model)
        provenance.addRow("Engine", self.engine)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(self.breakdown, 1)
        layout.addLayout(provenance)
        layout.addWidget(self.performance)
        layout.addWidget(self.research)
        self.show_exam(None, status="" if model_installed else NO_MODEL_TEXT)

    def show_exam(self, entry: ExamEntry | None, *, focus: ResultView | None = None,
                  active: str | None = None, status: str = "") -> None:
        """Show the exam's result (blanks and ``status`` without one); ``focus`` is the
        provenance of the view in focus (``active``), whose row is picked out."""
        self.status.setText(status)
        self.status.setVisible(bool(status))
        result = entry.result if entry is not None else None
        if result is None or result.score is None:
            for field in (self.probability, self.label, self.threshold):
                field.setText("—")
            self.label.setStyleSheet("")
        else:
            positive = result.label == "Positive"
            self.probability.setText(score_text(score=result.score, threshold=result.threshold,
                                                positive=positive))
            self.label.setText(result.label or "")
            self.label.setStyleSheet(f"color: {_color(result.label)};")
            self.threshold.setText(f"{threshold_text(result.threshold)} "
                                   "(Positive at or above)")
        if focus is None:
            self.model.setText("—")
            self.engine.setText("—")
        else:
            self.model.setText(f"{focus.model_id} ({focus.model_version})")
            self.engine.setText(f"{focus.engine} on {focus.device}")
        self._update_breakdown(entry, active)

    def breakdown_rows(self) -> list[tuple[str, ...]]:
        """The table's texts, row by row (what the reader sees)."""
        return [tuple(self.breakdown.item(r, c).text() for c in range(len(BREAKDOWN_COLUMNS)))
                for r in range(self.breakdown.rowCount())]

    def _update_breakdown(self, entry: ExamEntry | None, active: str | None) -> None:
        lines: list[_Line] = []
        result = entry.result if entry is not None else None
        if entry is not None and result is not None:
            threshold = result.threshold
            lines.append(_Line("Exam", result.score, result.label, threshold, bold=True))
            deciding = set()
            for side in ("R", "L", "unknown"):  # as hung: the right breast first
                breast = result.breasts.get(side)  # type: ignore[call-overload]
                if breast is None:
                    continue
                note = "no image" if not breast.views else "not scored"
                lines.append(_Line(BREAST_NAMES[side], breast.score, breast.label, threshold,
                                   note=note))
                if breast.deciding_view is not None:
                    deciding.add(breast.deciding_view)
            for row in entry.rows:
                image = entry.exam.image(row.path)
                name = describe_image(image) if image is not None else row.path
                scored = row.status == RowStatus.DONE and row.score is not None
                lines.append(_Line(
                    f"{name}{DECIDES if row.path in deciding else ''}",
                    row.score if scored else None, row.label if scored else None,
                    row.threshold if scored else None, picked=row.path == active,
                    note=_VIEW_NOTES.get(row.status, "not scored")))
        self.breakdown.setRowCount(len(lines))
        for number, line in enumerate(lines):
            for column, text in enumerate(line.texts()):
                item = QTableWidgetItem(text)
                if column == 2 and line.label:
                    item.setForeground(QColor(_color(line.label)))
                if line.bold:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if line.picked:  # the view in focus in the hanging
                    item.setBackground(self.palette().highlight().color().darker(150))
                self.breakdown.setItem(number, column, item)
        self.breakdown.resizeColumnsToContents()
        self.breakdown.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch)


_VIEW_NOTES = {RowStatus.ERROR: "not read", RowStatus.CANCELLED: "not read",
               RowStatus.QUEUED: "waiting", RowStatus.RUNNING: "reading"}


@dataclass(frozen=True)
class _Line:
    """One row of the breakdown: a score with its class and threshold, or a note why not."""

    name: str
    score: float | None
    label: str | None
    threshold: float | None
    bold: bool = False
    picked: bool = False
    note: str = ""

    def texts(self) -> tuple[str, str, str, str]:
        if self.score is None or self.threshold is None:
            return self.name, "", self.note, ""
        return (self.name, score_text(score=self.score, threshold=self.threshold,
                                      positive=self.label == "Positive"),
                self.label or "", threshold_text(self.threshold))


def _color(label: str | None) -> str:
    return POSITIVE_COLOR if label == "Positive" else NEGATIVE_COLOR
