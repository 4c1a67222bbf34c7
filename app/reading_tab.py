"""The Reading tab: the worklist of exams, the hanging with its controls, and beside them the
model's result above the reader's decision (per breast, and for the view in focus)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QTabWidget, QWidget

from app.breast_decision_panel import BreastDecisionPanel
from app.decision_panel import DecisionPanel
from app.result_panel import ResultPanel
from app.viewer_controls import ViewerControls
from app.worklist import Worklist
from app.worklist_model import WorklistModel


class ReadingTab(QSplitter):
    """Holds the reading parts; the window's controllers drive them."""

    def __init__(self, *, scored: bool, local_only: bool, performance: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.worklist_model = WorklistModel(self, local_only=local_only)
        self.worklist = Worklist(self.worklist_model, can_rescore=scored)
        self.controls = ViewerControls(heatmap_available=scored)
        self.result_panel = ResultPanel(model_installed=scored, performance=performance)
        self.decision_panel = DecisionPanel()
        self.breast_panel = BreastDecisionPanel()
        decide = QTabWidget()  # the exam's assessment per breast; the view's reading
        decide.addTab(self.breast_panel, "Breasts")
        decide.addTab(self.decision_panel, "This view")
        # Scrolls where the screen is short (a 1366x768 laptop) instead of pushing the window
        # taller than the screen.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(decide)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(decide.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width())
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.result_panel)
        side.addWidget(scroll)
        side.setChildrenCollapsible(False)
        side.setSizes([360, 540])
        for part in (self.worklist, self.controls, side):
            self.addWidget(part)
        self.setStretchFactor(1, 1)
        self.setSizes([560, 820, 360])
