"""Viewer controls: fit, wheel zoom, pan, window/level drag, reset, invert, peak mark."""

from __future__ import annotations

import threading

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


def test_overlay_text_has_a_backdrop_readable_on_a_bright_image(viewer: ImageViewer) -> None:
    viewer.set_image(make_display_image(np.ones((300, 400), dtype=np.float32)))
    assert grey_at(viewer, 200, 150) == 255  # the image is white everywhere

    # Just left of the text and between its lines of pixels: the backdrop, not the image.
    assert grey_at(viewer, 5, viewer.height() - 12) < 100


def test_window_level_is_in_dicom_values_and_presets_apply(tmp_path, viewer) -> None:
    from app import jobs
    from tests.core.imaging import factories

    stored = factories.gradient(height=60, width=80, maximum=4000).astype(np.uint16)
    ds = factories.mammo_dataset(stored)
    ds.WindowCenter, ds.WindowWidth = 1000, 500
    path = factories.write_dicom(tmp_path / "w.dcm", ds)
    job = jobs.load_view_job(str(path), None, limits=jobs.Limits(max_file_bytes=1 << 26,
                                                                 max_pixels=1 << 24))
    data = job(threading.Event(), lambda _item: None)
    viewer.set_image(data.display)

    assert viewer.overlay_text().startswith("W 500  L 1000 (Default)")
    viewer.apply_preset("Full range")
    center, width = viewer.window_level
    assert viewer.overlay_text().startswith(f"W {width * 500:.0f}  L ")
    assert "(Full range)" in viewer.overlay_text()
    viewer.next_preset()
    assert viewer.preset == "Soft tissue"
    viewer.set_window(center, width / 2)  # a drag leaves the presets
    assert viewer.preset == "" and "(custom)" in viewer.overlay_text()
    viewer.reset_view()
    assert viewer.preset == "Default" and viewer.window_level == DEFAULT_WINDOW


def test_preset_box_follows_the_viewer_and_applies_a_choice(qtbot) -> None:
    from app.viewer_controls import ViewerControls

    controls = ViewerControls(heatmap_available=False)
    qtbot.addWidget(controls)
    controls.viewer.set_image(make_display_image(make_ramp() * 0.5 + 0.25))
    assert controls.preset.currentText() == "Default"

    controls.preset.activated.emit(controls.preset.findText("Full range"))

    assert controls.viewer.preset == "Full range"
    center, width = controls.viewer.window_level
    assert (center, width) == (pytest.approx(0.5, abs=1e-3), pytest.approx(0.5, abs=1e-3))
    controls.next_preset()
    assert controls.preset.currentText() == "Soft tissue"


def test_a_picture_stored_negative_is_shown_as_the_model_reads_it(qtbot, make_window,
                                                                  tmp_path) -> None:
    from PIL import Image

    from core.inference.preprocess import needs_inversion

    # White background, darker breast on the left: a negative, as MONOCHROME1 never inverted.
    yy, xx = np.mgrid[0:128, 0:96]
    picture = np.where(xx < 58, 120 - 60 * np.exp(-((xx - 30) ** 2 + (yy - 60) ** 2) / 80.0),
                       250).astype(np.uint8)
    Image.fromarray(picture).save(tmp_path / "negative.png")
    assert needs_inversion(picture / 255.0)  # the model reads it inverted
    window = make_window(None)
    window.activateWindow()
    qtbot.waitActive(window)
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.import_paths([str(tmp_path / "negative.png")])
    qtbot.waitUntil(lambda: window.viewer.image is not None)
    shown = window.viewer
    rect = shown.image_rect()

    def background() -> int:
        return grey_at(shown, int(rect.left() + rect.width() * 0.9), int(rect.center().y()))

    assert shown.inverted and background() < 30  # dark background, as the model sees it
    assert "inverted" not in shown.overlay_text()
    shown.setFocus()
    qtbot.keyClick(shown, Qt.Key.Key_I)
    assert not shown.inverted and background() > 225  # as stored
    assert "inverted" in shown.overlay_text()
    shown.reset_view()
    assert shown.inverted and background() < 30
