"""The Statistics tab's department part: reader-model agreement from the server, per reader
and model version, with 95 % intervals, the screening figures where outcomes exist, and the
cases where reader and model disagree, listed for review."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.contracts import AgreementPublic, AgreementRow, RatePublic, ScreeningPublic
from core.store.outcomes import OUTCOMES

LISTED = 20


def rate_text(rate: RatePublic) -> str:
    """``75.0% (46.8-91.1%, 9/12)`` or ``n/a``."""
    if rate.value is None or rate.low is None or rate.high is None:
        return "n/a"
    return (f"{rate.value:.1%} ({rate.low:.1%}-{rate.high:.1%}, "
            f"{rate.numerator}/{rate.denominator})")


def kappa_text(row: AgreementRow) -> str:
    k = row.kappa
    if k.value is None or k.low is None or k.high is None:
        return "n/a (one class only)"
    return f"{k.value:.2f} ({k.low:.2f} to {k.high:.2f})"


def screening_text(name: str, figures: ScreeningPublic | None) -> str:
    if figures is None:
        return ""
    return (f"{name}: sensitivity {rate_text(figures.sensitivity)}, specificity "
            f"{rate_text(figures.specificity)}, recall rate {rate_text(figures.recall_rate)}")


def row_html(row: AgreementRow) -> str:
    lines = [f"<b>{escape(row.reader)}</b> · {escape(row.model)}: {row.cases} cases, "
             f"agreement {rate_text(row.agreement)}, kappa {kappa_text(row)}, "
             f"{row.disagreements} disagreements"]
    if row.with_outcome:
        lines.append(f"{row.with_outcome} with an outcome:")
        for name, figures in (("reader alone", row.reader_alone),
                              ("model alone", row.model_alone),
                              ("reader or model", row.reader_or_model)):
            lines.append("&nbsp;&nbsp;" + escape(screening_text(name, figures)))
    return "<br>".join(lines)


class AgreementView(QWidget):
    """Shows one :class:`AgreementPublic`, or why there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Reader-model agreement</b> (department, from the server; "
                            "recall at BI-RADS 0, 3, 4, 5)")
        self.status = QLabel("Shown once the server answers.")
        self.status.setWordWrap(True)
        self.table = QLabel()
        self.table.setTextFormat(Qt.TextFormat.RichText)
        self.table.setWordWrap(True)
        self.table.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = QLabel()
        self.chart.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.disagreements = QLabel()
        self.disagreements.setTextFormat(Qt.TextFormat.RichText)
        self.disagreements.setWordWrap(True)
        self.disagreements.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        for part in (self.title, self.status, self.table, self.chart, self.disagreements):
            layout.addWidget(part)

    def show_agreement(self, agreement: AgreementPublic, chart: np.ndarray | None) -> None:
        if not agreement.rows:
            self.status.setText("No signed readings with a BI-RADS yet.")
        else:
            self.status.setText("")
        self.table.setText("<br><br>".join(row_html(r) for r in agreement.rows))
        if chart is None:
            self.chart.setPixmap(QPixmap())
        else:
            h, w = chart.shape[:2]
            image = QImage(chart.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
            self.chart.setPixmap(QPixmap.fromImage(image.copy()))
        items = [
            f"{escape(d.exam_key or 'image ' + d.pixel_sha256s[0][:12])} "
            f"{escape(d.breast or '')}: {escape(d.reader)} BI-RADS {d.birads} "
            f"({'recall' if d.reader_recall else 'no recall'}), model "
            f"{'positive' if d.model_positive else 'negative'} (score {d.score:.2f})"
            + (f", outcome: {OUTCOMES[d.outcome].lower()}" if d.outcome else "")
            for d in agreement.disagreements[:LISTED]
        ]
        self.disagreements.setText(
            "" if not items else "<b>Disagreements to review</b><br>" + "<br>".join(items))

    def show_unavailable(self, message: str) -> None:
        self.status.setText(message)
        self.table.setText("")
        self.chart.setPixmap(QPixmap())
        self.disagreements.setText("")
