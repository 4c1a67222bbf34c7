"""The image viewer: fit, wheel zoom, pan, window/level, invert, heatmap and the peak mark.

Left-drag pans, right-drag sets window (horizontal) and level (vertical), the wheel zooms
about the cursor; window presets are named (:data:`app.display_image.PRESET_NAMES`). Keys
live on the main window (H heatmap, I invert, R reset, W next window preset).

Polarity follows the model: a picture stored negative (bright background) is shown inverted,
as the model reads it; Invert toggles from there and Reset returns to it. Window and level are
shown in the image's own units (DICOM values, stored grey levels) where they are known, on a
backdrop that keeps them readable over bright tissue.

In the hanging (:mod:`app.hanging_viewer`) one viewer shows each cell: a caption names the
cell, the active cell is outlined, and the views can be linked: ``window_edited`` and
``view_moved`` report what the reader did by hand (never what the program set), so that the
hanging can do the same in the other cells.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.display_image import DEFAULT_PRESET, DisplayImage, heatmap_rgba, window_lut

DEFAULT_WINDOW = (0.5, 1.0)  # center, width in [0, 1] units: the whole range
WHEEL_STEP = 1.25  # zoom factor per wheel notch
MIN_ZOOM, MAX_ZOOM = 0.02, 40.0
PEAK_COLOR = QColor("#00e5ff")
MARK_COLOR = QColor("#ffd400")
CLICK_SLOP = 4.0  # screen pixels a click may move and still be a click, not a pan
OVERLAY_BACKDROP = QColor(0, 0, 0, 170)
ACTIVE_COLOR = QColor("#2f6fb5")
HINT = "wheel: zoom · drag: pan · right-drag: window/level"


class ImageViewer(QWidget):
    """Shows one :class:`DisplayImage`; ``window_changed`` reports (center, width) in [0, 1]
    units, ``preset_changed`` the window preset's name ("" once window/level is dragged).

    ``window_edited`` (center, width) and ``view_moved`` (zoom or pan) are emitted only for
    the reader's own drags, wheel turns and double-clicks; ``activated`` when the reader
    clicks into the viewer. ``clicked_at`` (x, y): a left click that did not pan, at that
    pixel of the file (from its top-left, mirrored back when the copy is mirrored); finding
    marks are placed from it and drawn by :meth:`set_marks`. ``image_changed`` after
    :meth:`set_image` (marks are per picture).
    """

    window_changed = Signal(float, float)
    preset_changed = Signal(str)
    heatmap_toggled = Signal(bool)
    window_edited = Signal(float, float)
    view_moved = Signal()
    activated = Signal()
    clicked_at = Signal(float, float)
    image_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: DisplayImage | None = None
        self._pixmap: QPixmap | None = None
        self._heat: QImage | None = None
        self._peak: tuple[float, float] | None = None
        self._message = "Select an image in the worklist, or import one."
        self._scale = 1.0  # screen pixels per display pixel
        self._offset = QPointF(0, 0)  # where the image's top-left corner is drawn
        self._fitted = True
        self._window = DEFAULT_WINDOW
        self._preset = ""
        self._inverted = False
        self._heat_visible = False
        self._heat_opacity = 0.5
        self._drag_button: Qt.MouseButton | None = None
        self._drag_start = QPointF()
        self._marks: list[tuple[float, float]] = []
        self._model_hidden = False
        self._drag_origin: tuple[float, float] | QPointF = QPointF()
        self._caption = ""
        self._highlighted = False

    # Content ------------------------------------------------------------------------------

    def set_image(self, image: DisplayImage | None, *, heatmap: np.ndarray | None = None,
                  peak: tuple[float, float] | None = None, message: str = "") -> None:
        """Show ``image`` (or ``message`` when None) fitted, with the default window, inverted
        when it is stored negative."""
        self._image = image
        self._peak = peak
        self._marks = []
        self._message = message
        self._window = DEFAULT_WINDOW
        self._set_preset(DEFAULT_PRESET if image is not None else "")
        self._inverted = image is not None and image.negative
        self._heat = None
        if heatmap is not None:
            rgba = heatmap_rgba(heatmap)
            h, w = rgba.shape[:2]
            self._heat = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self._update_pixmap()
        self.fit()
        self.image_changed.emit()

    @property
    def marks(self) -> list[tuple[float, float]]:
        """The finding marks drawn, in the file's pixels (from its top-left)."""
        return list(self._marks)

    def set_marks(self, marks: list[tuple[float, float]]) -> None:
        """Draw finding marks at these file pixels (a new image clears them)."""
        self._marks = list(marks)
        self.update()

    @property
    def model_hidden(self) -> bool:
        """Whether the model's heatmap and peak are kept off the picture (blinded first read,
        or read without the model)."""
        return self._model_hidden

    def set_model_hidden(self, hidden: bool) -> None:
        self._model_hidden = hidden
        self.update()

    def set_message(self, message: str) -> None:
        """Clear the image and show ``message`` (loading, or why there is nothing to show)."""
        self.set_image(None, message=message)

    @property
    def image(self) -> DisplayImage | None:
        return self._image

    @property
    def message(self) -> str:
        """What the viewer says when it shows no image."""
        return self._message

    @property
    def has_heatmap(self) -> bool:
        return self._heat is not None

    @property
    def peak(self) -> tuple[float, float] | None:
        return self._peak

    @property
    def caption(self) -> str:
        """The cell's name drawn at the top left ("R CC · file.dcm"), or ""."""
        return self._caption

    def set_caption(self, caption: str) -> None:
        self._caption = caption
        self.update()

    @property
    def highlighted(self) -> bool:
        """Whether the viewer is outlined as the hanging's active cell."""
        return self._highlighted

    def set_highlighted(self, highlighted: bool) -> None:
        if highlighted != self._highlighted:
            self._highlighted = highlighted
            self.update()

    # View state ---------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        """Screen pixels per original image pixel."""
        return self._scale * (self._image.scale if self._image else 1.0)

    @property
    def window_level(self) -> tuple[float, float]:
        return self._window

    @property
    def inverted(self) -> bool:
        """Whether black and white are swapped on screen (a negative picture: True at first)."""
        return self._inverted

    @property
    def preset(self) -> str:
        """The window preset shown, or "" after window/level was dragged."""
        return self._preset

    @property
    def heatmap_visible(self) -> bool:
        return self._heat_visible

    @property
    def heatmap_opacity(self) -> float:
        return self._heat_opacity

    def fit(self) -> None:
        self._fitted = True
        if self._image is not None:
            self._scale = self._fit_scale()
            self._offset = QPointF((self.width() - self._image.width * self._scale) / 2,
                                   (self.height() - self._image.height * self._scale) / 2)
        self.update()

    def _fit_scale(self) -> float:
        assert self._image is not None
        return max(min(self.width() / self._image.width, self.height() / self._image.height),
                   1e-3)

    def relative_view(self) -> tuple[float, float, float] | None:
        """(zoom relative to fitted, x and y of the picture's point at the viewer's centre as
        fractions of its width and height), in display orientation; None without an image.
        Cells showing pictures of different sizes line up by these."""
        if self._image is None:
            return None
        center = (QPointF(self.width() / 2, self.height() / 2) - self._offset) / self._scale
        return (self._scale / self._fit_scale(), center.x() / self._image.width,
                center.y() / self._image.height)

    def set_relative_view(self, factor: float, u: float, v: float) -> None:
        """Zoom to ``factor`` times fitted, with the picture's point (``u``, ``v``) (fractions
        of its width and height) at the viewer's centre."""
        if self._image is None:
            return
        self._scale = min(max(self._fit_scale() * factor, MIN_ZOOM), MAX_ZOOM)
        point = QPointF(u * self._image.width, v * self._image.height) * self._scale
        self._offset = QPointF(self.width() / 2, self.height() / 2) - point
        self._fitted = abs(factor - 1.0) < 1e-6 and abs(u - 0.5) < 1e-6 and abs(v - 0.5) < 1e-6
        self.update()

    def reset_view(self) -> None:
        """Fit, default window/level, the polarity the model reads."""
        self._inverted = self._image is not None and self._image.negative
        self.apply_preset(DEFAULT_PRESET)
        self.fit()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        if self._image is None:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        new_scale = min(max(self._scale * factor, MIN_ZOOM), MAX_ZOOM)
        ratio = new_scale / self._scale
        self._offset = anchor - (anchor - self._offset) * ratio
        self._scale = new_scale
        self._fitted = False
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        self._offset += QPointF(dx, dy)
        self._fitted = False
        self.update()

    def set_window(self, center: float, width: float) -> None:
        """Window/level in [0, 1] units of the grey range (a custom window, not a preset)."""
        self._set_window(center, width)
        self._set_preset("")

    def apply_preset(self, name: str) -> None:
        """Show the picture through its window preset ``name`` (default: the file's window)."""
        presets = {p.name: p for p in self._image.presets} if self._image is not None else {}
        preset = presets.get(name)
        if preset is None:
            self._set_window(*DEFAULT_WINDOW)
            name = DEFAULT_PRESET
        else:
            self._set_window(preset.center, preset.width)
        self._set_preset(name)

    def next_preset(self) -> None:
        """The next window preset (after the last, the first again)."""
        if self._image is None or not self._image.presets:
            return
        names = [p.name for p in self._image.presets]
        following = names.index(self._preset) + 1 if self._preset in names else 0
        self.apply_preset(names[following % len(names)])

    def _set_window(self, center: float, width: float) -> None:
        self._window = (min(max(center, 0.0), 1.0), min(max(width, 0.01), 2.0))
        self._update_pixmap()
        self.window_changed.emit(*self._window)

    def _set_preset(self, name: str) -> None:
        if name != self._preset:
            self._preset = name
            self.preset_changed.emit(name)

    def toggle_invert(self) -> None:
        self._inverted = not self._inverted
        self._update_pixmap()

    def toggle_heatmap(self) -> None:
        self.set_heatmap_visible(not self._heat_visible)

    def set_heatmap_visible(self, visible: bool) -> None:
        self._heat_visible = visible
        self.heatmap_toggled.emit(visible)
        self.update()

    def set_heatmap_opacity(self, opacity: float) -> None:
        self._heat_opacity = min(max(opacity, 0.0), 1.0)
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image is drawn, in widget coordinates."""
        if self._image is None:
            return QRectF()
        return QRectF(self._offset.x(), self._offset.y(), self._image.width * self._scale,
                      self._image.height * self._scale)

    def peak_position(self) -> QPointF | None:
        """The peak's position in widget coordinates, or None."""
        if self._peak is None:
            return None
        return self.from_original(*self._peak)

    def from_original(self, x: float, y: float) -> QPointF | None:
        """Where the file's pixel (``x``, ``y``) (from its top-left) is drawn, or None without
        an image; a mirrored copy mirrors it."""
        if self._image is None:
            return None
        if self._image.mirrored:
            x = self._image.original_width - x
        s = self._image.scale * self._scale
        return self._offset + QPointF(x * s, y * s)

    def to_original(self, point: QPointF) -> tuple[float, float] | None:
        """The file's pixel (from its top-left) drawn at widget ``point``; None without an
        image or outside it."""
        if self._image is None or not self.image_rect().contains(point):
            return None
        s = self._image.scale * self._scale
        x, y = (point.x() - self._offset.x()) / s, (point.y() - self._offset.y()) / s
        if self._image.mirrored:
            x = self._image.original_width - x
        return x, y

    # Qt events ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#000000"))
        if self._image is None or self._pixmap is None:
            painter.setPen(QColor("#9a9da3"))
            painter.drawText(self.rect().adjusted(8, 8, -8, -8),
                             int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                             self._message)
            self._paint_frame(painter)
            return
        target = self.image_rect()
        # Smoothing only when shrinking: enlarged pixels stay crisp for the radiologist.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._scale < 1.0)
        painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
        if self._heat_visible and self._heat is not None and not self._model_hidden:
            painter.setOpacity(self._heat_opacity)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(target, self._heat, QRectF(self._heat.rect()))
            painter.setOpacity(1.0)
        self._paint_peak(painter)
        self._paint_marks(painter)
        self._paint_overlay_text(painter)
        self._paint_frame(painter)

    def _paint_frame(self, painter: QPainter) -> None:
        if self._caption:
            area = self.rect().adjusted(8, 6, -8, 0)
            align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
            bounds = painter.fontMetrics().boundingRect(area, int(align), self._caption)
            painter.fillRect(bounds.adjusted(-5, -3, 5, 3), OVERLAY_BACKDROP)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(area, align, self._caption)
        if self._highlighted:
            painter.setPen(QPen(ACTIVE_COLOR, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))

    def _paint_peak(self, painter: QPainter) -> None:
        point = None if self._model_hidden else self.peak_position()
        if point is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(PEAK_COLOR, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(point, 16, 16)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            painter.drawLine(point + QPointF(dx * 20, dy * 20), point + QPointF(dx * 28, dy * 28))

    def _paint_marks(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for number, (x, y) in enumerate(self._marks, start=1):
            point = self.from_original(x, y)
            if point is None:
                continue
            painter.setPen(QPen(MARK_COLOR, 2))
            painter.drawEllipse(point, 12, 12)
            painter.drawText(point + QPointF(13, -11), str(number))

    def overlay_text(self) -> str:
        """The window/level line drawn over the image, e.g. "W 500  L 1000 (Default)  zoom 68%".

        W and L are in the image's own units (DICOM values, stored grey levels) when known,
        else in fractions of the grey range.
        """
        center, width = self._window
        scale = self._image.intensity if self._image is not None else None
        if scale is None:
            window = f"W {width:.2f}  L {center:.2f}"
        else:
            span, level = scale.span_of(width), scale.value_of(center)
            window = f"W {_value_text(span)}  L {_value_text(level)}"
        text = f"{window} ({self._preset or 'custom'})  zoom {self.zoom * 100:.0f}%"
        negative = self._image is not None and self._image.negative
        if self._inverted != negative:
            text += "  inverted"
        return text

    def _paint_overlay_text(self, painter: QPainter) -> None:
        # A backdrop: on bright tissue or a white film label, bare light text cannot be read.
        area = self.rect().adjusted(8, 0, -8, -6)
        align = Qt.AlignmentFlag.AlignBottom
        lines = [(self.overlay_text(), Qt.AlignmentFlag.AlignLeft, "#e6e6e6")]
        metrics = painter.fontMetrics()
        if metrics.horizontalAdvance(f"{lines[0][0]}      {HINT}") < area.width():
            lines.append((HINT, Qt.AlignmentFlag.AlignRight, "#a9acb3"))  # room for both
        for text, side, color in lines:
            bounds = painter.fontMetrics().boundingRect(area, int(side | align), text)
            painter.fillRect(bounds.adjusted(-5, -3, 5, 3), OVERLAY_BACKDROP)
            painter.setPen(QColor(color))
            painter.drawText(area, side | align, text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(WHEEL_STEP ** steps, event.position())
            self.view_moved.emit()
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.activated.emit()
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._drag_button = event.button()
            self._drag_start = event.position()
            self._drag_origin = (self._window if event.button() == Qt.MouseButton.RightButton
                                 else QPointF(self._offset))
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_button is None or self._image is None:
            return
        delta = event.position() - self._drag_start
        if self._drag_button == Qt.MouseButton.LeftButton:
            assert isinstance(self._drag_origin, QPointF)
            self._offset = self._drag_origin + delta
            self._fitted = False
            self.update()
            self.view_moved.emit()
        else:
            center, width = self._drag_origin  # type: ignore[misc]
            # A drag across the whole viewer spans the whole grey range.
            self.set_window(center - delta.y() / max(self.height(), 1),
                            width + delta.x() / max(self.width(), 1))
            self.window_edited.emit(*self._window)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        clicked = (self._drag_button == Qt.MouseButton.LeftButton
                   and event.button() == Qt.MouseButton.LeftButton
                   and (event.position() - self._drag_start).manhattanLength() <= CLICK_SLOP)
        self._drag_button = None
        event.accept()
        point = self.to_original(event.position()) if clicked else None
        if point is not None:
            self.clicked_at.emit(*point)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.fit()
        self.view_moved.emit()
        event.accept()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        event.accept()  # the right button sets window/level here

    # Rendering ----------------------------------------------------------------------------

    def _update_pixmap(self) -> None:
        if self._image is None:
            self._pixmap = None
            self.update()
            return
        center, width = self._window
        lut = window_lut(center=center, width=width, inverted=self._inverted)
        shown = np.ascontiguousarray(lut[self._image.levels])
        h, w = shown.shape
        qimage = QImage(shown.data, w, h, w, QImage.Format.Format_Grayscale8)
        self._pixmap = QPixmap.fromImage(qimage)  # copies: `shown` may be freed after
        self.update()


def _value_text(value: float) -> str:
    """Whole numbers for DICOM values and grey levels; decimals only for small ranges."""
    return f"{value:.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"
