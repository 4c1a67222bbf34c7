"""Viewer controls: fit, wheel zoom, pan, window/level drag, reset, invert, peak mark."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.display_image import make_display_image
from app.viewer import DEFAULT_WINDOW, WHEEL_STEP, ImageViewer


def make_ramp(height: int = 300, width: int = 400) -> np.ndarray:
    """Left-to-right grey ramp from black to white."""
    return np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))


@pytest.fixture
def viewer(qtbot) -> ImageViewer:
    shown = ImageViewer()
    qtbot.addWidget(shown)
    shown.resize(400, 300)
    shown.show()
    qtbot.waitExposed(shown)
    shown.set_image(make_display_image(make_ramp()), peak=(300.0, 150.0))
    return shown


def grey_at(viewer: ImageViewer, x: int, y: int) -> int:
    return viewer.grab().toImage().pixelColor(x, y).red()


def wheel(viewer: ImageViewer, notches: int) -> None:
    point = QPointF(200, 150)
    event = QWheelEvent(point, viewer.mapToGlobal(point), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewer, event)


def test_image_is_fitted_and_wheel_zooms(viewer: ImageViewer) -> None:
    assert viewer.zoom == pytest.approx(1.0)  # 400 x 300 image in a 400 x 300 viewer
    wheel(viewer, 2)
    assert viewer.zoom == pytest.approx(WHEEL_STEP ** 2)
    wheel(viewer, -2)
    assert viewer.zoom == pytest.approx(1.0)


def test_left_drag_pans(qtbot, viewer: ImageViewer) -> None:
    before = viewer.image_rect().topLeft()
    qtbot.mousePress(viewer, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(viewer, QPoint(150, 120))
    qtbot.mouseRelease(viewer, Qt.MouseButton.LeftButton, pos=QPoint(150, 120))
    assert viewer.image_rect().topLeft() - before == QPointF(50, 20)


def test_right_drag_sets_window_level_and_reset_restores(qtbot, viewer: ImageViewer) -> None:
    mid_grey = grey_at(viewer, 200, 150)
    qtbot.mousePress(viewer, Qt.MouseButton.RightButton, pos=QPoint(200, 150))
    qtbot.mouseMove(viewer, QPoint(40, 120))  # narrower window, brighter level
    qtbot.mouseRelease(viewer, Qt.MouseButton.RightButton, pos=QPoint(40, 120))

    center, width = viewer.window_level
    assert width == pytest.approx(1.0 - 160 / 400)
    assert center == pytest.approx(0.5 + 30 / 300)
    assert grey_at(viewer, 200, 150) != mid_grey
    wheel(viewer, 1)

    viewer.reset_view()
    assert viewer.window_level == DEFAULT_WINDOW
    assert viewer.zoom == pytest.approx(1.0)
    assert abs(grey_at(viewer, 200, 150) - mid_grey) <= 1


def test_invert_flips_black_and_white(viewer: ImageViewer) -> None:
    dark = grey_at(viewer, 20, 150)
    viewer.toggle_invert()
    assert viewer.inverted
    assert abs(grey_at(viewer, 20, 150) - (255 - dark)) <= 2


def test_peak_is_marked_where_the_model_found_it(viewer: ImageViewer) -> None:
    point = viewer.peak_position()
    assert point == QPointF(300, 150)
    ring = viewer.grab().toImage().pixelColor(300 + 16, 150)
    assert ring.blue() > 200 and ring.red() < 80  # the cyan ring over grey pixels


def test_large_image_is_downscaled_for_display() -> None:
    display = make_display_image(np.zeros((5000, 4000), dtype=np.float32))
    assert max(display.width, display.height) == 2048
    assert (display.original_width, display.original_height) == (4000, 5000)
