"""The model's result for the image shown, with its provenance and the research-use notice."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from app.score_text import score_text, threshold_text
from app.theme import NEGATIVE_COLOR, POSITIVE_COLOR, RESEARCH_STYLE
from app.worklist_model import WorklistRow
from core.inference.classifier import ModelInfo

RESEARCH_NOTICE = "Research use only — not for diagnosis"
NO_MODEL_TEXT = "No usable model: images are not scored"
"""Where there is no room for the reason; the banner and About give the loader's message."""


@dataclass(frozen=True)
class ResultView:
    """What the panel shows for one scored image."""

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


class ResultPanel(QGroupBox):
    """Calibrated probability, class at the shown threshold, model, engine and device."""

    def __init__(self, *, model_installed: bool, performance: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__("Model result", parent)
        self._model_installed = model_installed
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
        self.performance = QLabel(f"Measured on {performance}" if performance else "")
        self.performance.setWordWrap(True)
        self.performance.setVisible(bool(performance))
        self.research = QLabel(RESEARCH_NOTICE)
        self.research.setStyleSheet(RESEARCH_STYLE)
        self.research.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Probability", self.probability)
        form.addRow("Class", self.label)
        form.addRow("Threshold", self.threshold)
        form.addRow("Model", self.model)
        form.addRow("Engine", self.engine)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self.performance)
        layout.addWidget(self.research)
        self.show_result(None, status="" if model_installed else NO_MODEL_TEXT)

    def show_result(self, result: ResultView | None, *, status: str = "") -> None:
        """Show ``result``, or blanks and ``status`` (why there is no result)."""
        if result is None:
            for field in (self.probability, self.label, self.threshold, self.model, self.engine):
                field.setText("—")
            self.label.setStyleSheet("")
            self.status.setText(status)
            self.status.setVisible(bool(status))
            return
        color = POSITIVE_COLOR if result.label == "Positive" else NEGATIVE_COLOR
        self.probability.setText(score_text(score=result.score, threshold=result.threshold,
                                            positive=result.label == "Positive"))
        self.label.setText(result.label)
        self.label.setStyleSheet(f"color: {color};")
        self.threshold.setText(f"{threshold_text(result.threshold)} (Positive at or above)")
        self.model.setText(f"{result.model_id} ({result.model_version})")
        self.engine.setText(f"{result.engine} on {result.device}")
        self.status.setText(status)
        self.status.setVisible(bool(status))
