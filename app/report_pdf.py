"""An exam's one-page PDF report, drawn with Qt's own PDF writer from what
:func:`core.report.gather_report` gathered.

The page: title and the research-use statement; whose exam it is; per breast the signed
BI-RADS category, density, findings, note and the model's score (or why there is none); the
model's id and threshold; the four standard views hung as on screen with the heatmap and the
finding marks; the reader's signature. A4 portrait, black on white, so it prints and faxes.

Runs on a worker: QPainter may draw on a PDF device outside the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from app.display_image import heatmap_rgba
from app.score_text import score_text, threshold_text
from core.assessment import BIRADS_TEXT, DENSITY_TEXT, SIDE_NAMES
from core.exams import Exam
from core.report import HANGING, BreastReport, ExamReport, Thumbnail

DPI = 300
MARGIN_MM = 14.0
MARK_COLOR = QColor("#ffd400")
WARNING_COLOR = QColor("#a33c00")
HEATMAP_OPACITY = 0.45


def write_report_pdf(report: ExamReport, path: Path) -> Path:
    """Draw ``report`` on one A4 page at ``path`` and return the path."""
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                     QPageLayout.Unit.Millimeter))
    writer.setTitle(f"Mammography report — {report.exam.patient_id or report.exam.id}")
    writer.setCreator("Mammo Workstation")
    painter = QPainter(writer)
    try:
        _Page(painter, writer.width(), writer.height()).draw(report)
    finally:
        painter.end()
    return path


def _mm(value: float) -> float:
    return value * DPI / 25.4


class _Page:
    """Draws top to bottom; ``_y`` is where the next block starts (device pixels)."""

    def __init__(self, painter: QPainter, width: int, height: int) -> None:
        self._p = painter
        self._w = float(width)
        self._h = float(height)
        self._y = 0.0

    def draw(self, report: ExamReport) -> None:
        self._header(report)
        self._identity(report.exam)
        self._breasts(report)
        self._model_line(report)
        footer_top = self._h - _mm(16)
        self._images(report, bottom=footer_top - _mm(3))
        self._footer(report, top=footer_top)

    # Blocks -------------------------------------------------------------------------------

    def _header(self, report: ExamReport) -> None:
        self._text(0, self._y, "Mammography reading report", size=16, bold=True)
        when = report.generated_at.astimezone().strftime("%Y-%m-%d %H:%M")
        self._text(0, self._y, f"Printed {when}", size=8, align=Qt.AlignmentFlag.AlignRight)
        self._y += _mm(8)
        self._box(report.research_statement, color=WARNING_COLOR)

    def _identity(self, exam: Exam) -> None:
        rows = [("Patient", _person(exam.patient_name)), ("Patient ID", exam.patient_id),
                ("Birth date", exam.birth_date), ("Study date", exam.study_date),
                ("Accession", exam.accession), ("Manufacturer", exam.manufacturer)]
        half = (len(rows) + 1) // 2
        top = self._y
        for column, chunk in enumerate((rows[:half], rows[half:])):
            y = top
            for name, value in chunk:
                x = column * self._w / 2
                self._text(x, y, name, size=9, color=QColor("#555555"))
                self._text(x + _mm(28), y, value or "—", size=9, bold=name == "Patient")
                y += _mm(5)
        self._y = top + half * _mm(5)
        self._text(0, self._y, f"Exam {exam.id}", size=7, color=QColor("#555555"),
                   width=self._w)
        self._y += _mm(6)

    def _breasts(self, report: ExamReport) -> None:
        by_side = {b.side: b for b in report.breasts}
        columns = [by_side["R"], by_side["L"]]
        label_w = _mm(34)
        col_w = (self._w - label_w) / 2
        self._rule()
        for i, breast in enumerate(columns):
            self._text(label_w + i * col_w, self._y, f"{SIDE_NAMES[breast.side].title()} "
                       "breast", size=11, bold=True)
        self._y += _mm(6)
        for name in ("BI-RADS", "Density", "Findings", "Note", "Model", "History"):
            cells = [_cell(name, b, report) for b in columns]
            if name == "History" and not any(cells):
                continue
            heights = [self._text(label_w + i * col_w, self._y, c or "—", size=9,
                                  width=col_w - _mm(3), bold=name == "BI-RADS")
                       for i, c in enumerate(cells)]
            self._text(0, self._y, name, size=9, color=QColor("#555555"))
            self._y += max(max(heights), _mm(4.5)) + _mm(1)
        self._rule()

    def _model_line(self, report: ExamReport) -> None:
        if report.model is not None:
            text = (f"Model {report.model.model_id} · threshold "
                    f"{threshold_text(report.model.threshold)}, Positive at or above · "
                    "a breast scores its highest view")
        else:
            text = report.model_status or "Read without model"
        self._y += self._text(0, self._y, text, size=8, width=self._w) + _mm(2)

    def _images(self, report: ExamReport, *, bottom: float) -> None:
        rows = 3 if report.others else 2
        label_h = _mm(5)
        cell_h = (bottom - self._y - rows * label_h) / (rows if rows == 2 else 2.6)
        cell_w = self._w / 2
        for index, (side, view) in enumerate(HANGING):
            x = (index % 2) * cell_w
            y = self._y + (index // 2) * (cell_h + label_h)
            thumb = report.hanging[index] if index < len(report.hanging) else None
            self._thumbnail(QRectF(x, y, cell_w, cell_h), thumb, f"{side} {view}",
                            align_to_middle=True, right=side == "R")
        self._y += 2 * (cell_h + label_h)
        if report.others:
            small_h = bottom - self._y - label_h
            small_w = self._w / max(len(report.others), 4)
            for i, thumb in enumerate(report.others):
                self._thumbnail(QRectF(i * small_w, self._y, small_w, small_h), thumb,
                                f"{thumb.side} {thumb.view}".replace("unknown", "?"))
            if report.more_views:
                self._text(0, self._y + small_h + label_h * 0.1,
                           f"{report.more_views} more views not shown", size=7,
                           align=Qt.AlignmentFlag.AlignRight)

    def _footer(self, report: ExamReport, *, top: float) -> None:
        self._y = top
        self._rule()
        if report.signed_at is None:
            signature = f"Not signed. Printed by {report.reader}."
        else:
            when = report.signed_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")
            signature = f"Signed by {report.reader} on {when}"
        self._text(0, self._y, signature, size=10, bold=True)
        self._y += _mm(6)
        self._text(0, self._y, report.research_statement, size=8, color=WARNING_COLOR)

    # Pieces -------------------------------------------------------------------------------

    def _thumbnail(self, cell: QRectF, thumb: Thumbnail | None, title: str, *,
                   align_to_middle: bool = False, right: bool = False) -> None:
        p = self._p
        pad = _mm(1.5)
        area = cell.adjusted(pad, 0, -pad, 0)
        p.fillRect(area, QColor("#000000"))
        if thumb is None or thumb.pixels is None:
            reason = "missing" if thumb is None else f"cannot be opened: {thumb.error}"
            self._text(area.x(), area.center().y(), f"{title}: {reason}", size=8,
                       color=QColor("#bbbbbb"), width=area.width(),
                       align=Qt.AlignmentFlag.AlignHCenter)
        else:
            target = _fit(thumb.pixels.shape, area)
            if align_to_middle:  # chest walls meet in the middle of the page
                shift = (area.right() - target.right()) if right else (area.left() - target.left())
                target.translate(shift, 0)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(target, _grey_image(thumb.pixels))
            if thumb.heatmap is not None:
                p.setOpacity(HEATMAP_OPACITY)
                p.drawImage(target, _heat_image(thumb.heatmap))
                p.setOpacity(1.0)
            self._marks(target, thumb)
        self._text(cell.x() + pad, cell.bottom() + _mm(0.5), title, size=8, bold=True)

    def _marks(self, target: QRectF, thumb: Thumbnail) -> None:
        assert thumb.pixels is not None
        h, w = thumb.pixels.shape
        scale = target.width() / w
        p = self._p
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(MARK_COLOR, _mm(0.5)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        radius = _mm(3)
        for number, (x, y) in enumerate(thumb.marks, start=1):
            centre = QPointF(target.x() + x * scale, target.y() + y * scale)
            p.drawEllipse(centre, radius, radius)
            self._text(centre.x() + radius, centre.y() - radius * 1.8, str(number), size=8,
                       bold=True, color=MARK_COLOR)

    def _box(self, text: str, *, color: QColor) -> None:
        height = _mm(7)
        rect = QRectF(0, self._y, self._w, height)
        self._p.setPen(QPen(color, _mm(0.4)))
        self._p.setBrush(Qt.BrushStyle.NoBrush)
        self._p.drawRect(rect)
        self._text(0, self._y + _mm(1.3), text, size=10, bold=True, color=color, width=self._w,
                   align=Qt.AlignmentFlag.AlignHCenter)
        self._y += height + _mm(3)

    def _rule(self) -> None:
        self._p.setPen(QPen(QColor("#999999"), _mm(0.2)))
        self._p.drawLine(QPointF(0, self._y), QPointF(self._w, self._y))
        self._y += _mm(2)

    def _text(self, x: float, y: float, text: str, *, size: float, bold: bool = False,
              color: QColor | None = None, width: float | None = None,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> float:
        """Draw ``text`` with its top-left at (x, y), wrapped to ``width`` (default: the rest
        of the line); returns the height it took."""
        font = QFont("DejaVu Sans")
        font.setPointSizeF(size)
        font.setBold(bold)
        self._p.setFont(font)
        self._p.setPen(color or QColor("#000000"))
        rect = QRectF(x, y, width if width is not None else self._w - x, self._h)
        flags = int(align | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
        used = self._p.boundingRect(rect, flags, text)
        self._p.drawText(rect, flags, text)
        return used.height()


def _cell(row: str, breast: BreastReport, report: ExamReport) -> str:
    a = breast.assessment
    if row == "Model":
        if report.model is None:
            return report.model_status or "read without model"
        if breast.score is None or breast.label is None:
            return "no scored view"
        shown = score_text(score=breast.score, threshold=report.model.threshold,
                           positive=breast.label == "Positive")
        verdict = ""
        if a is not None and a.agrees_with_model is not None:
            verdict = "; reader agrees" if a.agrees_with_model else "; reader disagrees"
        return f"{shown} {breast.label}{verdict}"
    if a is None:
        return "not assessed" if row == "BI-RADS" else ""
    if row == "BI-RADS":
        return BIRADS_TEXT[a.birads]
    if row == "Density":
        return DENSITY_TEXT[a.density] if a.density else "not given"
    if row == "Findings":
        count = len(a.marks)
        return f"{count} marked (numbered on the views)" if count else "none marked"
    if row == "Note":
        return a.note
    if breast.first_read is None and a.amends_id is None:
        return ""
    parts = []
    if breast.first_read is not None:
        parts.append(f"Blinded first read: BI-RADS {breast.first_read.birads}.")
    if a.amends_id is not None:
        parts.append(f"Amended: {a.amend_reason}")
    return " ".join(parts)


def _person(name: str | None) -> str | None:
    """DICOM's ``Family^Given^Middle`` as "Family, Given Middle"."""
    if not name:
        return None
    family, _, rest = name.partition("^")
    given = " ".join(part for part in rest.split("^") if part)
    return f"{family}, {given}" if given else family


def _fit(shape: tuple[int, ...], area: QRectF) -> QRectF:
    h, w = shape[:2]
    scale = min(area.width() / w, area.height() / h)
    size_w, size_h = w * scale, h * scale
    return QRectF(area.x() + (area.width() - size_w) / 2, area.y() + (area.height() - size_h) / 2,
                  size_w, size_h)


def _grey_image(pixels: np.ndarray) -> QImage:
    h, w = pixels.shape
    data = np.ascontiguousarray(pixels, dtype=np.uint8)
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def _heat_image(heatmap: np.ndarray) -> QImage:
    rgba = heatmap_rgba(np.clip(heatmap, 0.0, 1.0))
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
