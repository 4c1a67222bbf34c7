"""Statistics: readings per day, positive rate, reader-model agreement, score histogram."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.agreement_view import AgreementView
from core.statistics import ReadingStatistics


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


class StatsView(QWidget):
    """Shows one :class:`ReadingStatistics`; ``refresh_clicked`` asks the window for fresh ones."""

    refresh_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.total = QLabel("—")
        self.positive = QLabel("—")
        self.agreement = QLabel("—")
        self.chart = QLabel("Statistics appear here once readings are stored.")
        self.chart.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_clicked)
        form = QFormLayout()
        form.addRow("Readings", self.total)
        form.addRow("Model positive", self.positive)
        form.addRow("Reader agrees with model", self.agreement)
        top = QHBoxLayout()
        top.addLayout(form, 1)
        top.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        # This workstation's readings above; the department's agreement, from the server, below.
        self.agreement_view = AgreementView()
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(self.chart)
        column.addWidget(self.agreement_view)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)

    def show_statistics(self, stats: ReadingStatistics, chart: np.ndarray | None) -> None:
        self.total.setText(str(stats.total))
        self.positive.setText(f"{_rate(stats.positive_rate)} ({stats.positive} of {stats.total})")
        self.agreement.setText(
            f"{_rate(stats.agreement_rate)} ({stats.agreed} of {stats.decided} decided)")
        if chart is None:
            self.chart.setPixmap(QPixmap())
            self.chart.setText("Charts need matplotlib, which is not installed; "
                               "the numbers above are complete.")
            return
        h, w = chart.shape[:2]
        image = QImage(chart.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self.chart.setPixmap(QPixmap.fromImage(image))
