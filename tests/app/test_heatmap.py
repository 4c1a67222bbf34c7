"""The heatmap overlay: H shows and hides it; its opacity is adjustable."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.app.factories import FakeClassifier, write_mammogram


def coloured_pixels(window) -> int:
    """How many sampled viewer pixels are not grey (the overlay is coloured)."""
    image = window.viewer.grab().toImage()
    count = 0
    for x in range(0, image.width(), 7):
        for y in range(0, image.height(), 7):
            c = image.pixelColor(x, y)
            count += max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) > 40
    return count


def test_h_toggles_the_heatmap(qtbot, make_window, tmp_path: Path) -> None:
    write_mammogram(tmp_path / "one.png", n=2)
    window = make_window(FakeClassifier())
    window.activateWindow()
    qtbot.waitActive(window)
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.import_paths([str(tmp_path / "one.png")])
    qtbot.waitUntil(lambda: window.viewer.image is not None and window.viewer.has_heatmap)
    window.viewer.setFocus()
    baseline = coloured_pixels(window)  # the peak mark only

    qtbot.keyClick(window.viewer, Qt.Key.Key_H)
    assert window.viewer.heatmap_visible
    assert window.controls.heatmap.isChecked()
    with_overlay = coloured_pixels(window)
    assert with_overlay > baseline + 50

    qtbot.keyClick(window.viewer, Qt.Key.Key_BracketLeft)  # less opacity
    assert window.viewer.heatmap_opacity < 0.5

    qtbot.keyClick(window.viewer, Qt.Key.Key_H)
    assert not window.viewer.heatmap_visible
    assert coloured_pixels(window) == baseline
