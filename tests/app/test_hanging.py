"""The hanging: R CC | L CC over R MLO | L MLO, each breast turned so the chest walls meet in
the middle; V cycles 2x2 / one breast / one view; window/level, zoom and pan linked across
the cells; a missing view an empty labelled cell; per-breast scores in the result panel."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from app.hanging_viewer import BREAST, GRID, VIEW
from app.viewer import ImageViewer
from core.exams import POSITIONS, position_name
from tests.app.factories import FakeClassifier
from tests.app.study_factories import write_study

STUDY = "1.2.826.0.1.3680043.8.498.2001"


def _open_exam(qtbot, window, folder: Path) -> None:
    with qtbot.waitSignal(window.batch_finished, timeout=60_000):
        window.import_paths([str(folder)])
    window.worklist.select_next(0)
    hanging = window.controls.hanging
    qtbot.waitUntil(lambda: all(v.image is not None for p, v in hanging.cells.items()
                                if hanging.hanging.cells[p] is not None))


def _tissue_side(viewer: ImageViewer) -> str:
    """Which half of the picture on screen holds more tissue (brighter)."""
    image = viewer.grab().toImage()
    rect = viewer.image_rect().toRect().intersected(viewer.rect())
    y = rect.center().y()
    left = sum(image.pixelColor(x, y).red() for x in range(rect.left() + 2, rect.center().x()))
    right = sum(image.pixelColor(x, y).red()
                for x in range(rect.center().x(), rect.right() - 2))
    return "left" if left > right else "right"


@pytest.mark.parametrize("flipped", [False, True])
def test_each_view_hangs_in_its_cell_with_the_chest_walls_meeting(
        qtbot, make_window, tmp_path: Path, flipped: bool) -> None:
    # Stored as scanners do (right breast against the right edge), or the other way round:
    # either way the right breast is shown against its cell's right edge, the left one
    # against its left edge.
    files = write_study(tmp_path / "study", study_uid=STUDY, patient_id="P-1", level=0.6,
                        flipped=flipped)
    window = make_window(FakeClassifier())
    window.resize(1600, 1000)
    _open_exam(qtbot, window, tmp_path / "study")
    hanging = window.controls.hanging

    assert [position_name(p) for p in POSITIONS] == ["R CC", "L CC", "R MLO", "L MLO"]
    for position in POSITIONS:
        cell = hanging.cells[position]
        assert hanging.shown_path(cell) == str(files[position])
        assert cell.caption.startswith(position_name(position))
        assert cell.image.mirrored == flipped
        assert _tissue_side(cell) == ("right" if position[0] == "R" else "left")
    layout = hanging.layout()
    grid = layout.itemAt(0).layout()
    assert [grid.getItemPosition(grid.indexOf(hanging.cells[p]))[:2] for p in POSITIONS] == [
        (0, 0), (0, 1), (1, 0), (1, 1)]


def test_the_models_peak_is_drawn_on_the_same_tissue_in_a_mirrored_picture(
        qtbot, make_window, tmp_path: Path) -> None:
    write_study(tmp_path / "study", study_uid=STUDY, patient_id="P-1", level=0.6, flipped=True)
    window = make_window(FakeClassifier())
    _open_exam(qtbot, window, tmp_path / "study")
    cell = window.controls.hanging.cells[("R", "CC")]
    x, y = cell.peak
    drawn = cell.peak_position()
    original = cell.to_original(drawn)

    assert original == (pytest.approx(x, abs=0.5), pytest.approx(y, abs=0.5))
    rect = cell.image_rect()
    assert drawn.x() == pytest.approx(rect.right() - x * cell.zoom, abs=1.0)  # mirrored


def test_a_missing_view_is_an_empty_cell_that_says_which(qtbot, make_window,
                                                         tmp_path: Path) -> None:
    views = (("R", "CC"), ("L", "CC"), ("R", "MLO"))
    write_study(tmp_path / "study", study_uid=STUDY, patient_id="P-1", level=0.6, views=views)
    window = make_window(FakeClassifier())
    _open_exam(qtbot, window, tmp_path / "study")
    missing = window.controls.hanging.cells[("L", "MLO")]

    assert missing.isVisible() and missing.image is None
    assert missing.caption == "L MLO"
    assert missing.message == "L MLO: no image in this exam"


def test_the_layout_key_cycles_two_by_two_one_breast_one_view(qtbot, make_window,
                                                             tmp_path: Path) -> None:
    write_study(tmp_path / "study", study_uid=STUDY, patient_id="P-1", level=0.6)
    window = make_window(FakeClassifier())
    _open_exam(qtbot, window, tmp_path / "study")
    hanging = window.controls.hanging
    qtbot.mouseClick(hanging.cells[("L", "MLO")], Qt.MouseButton.LeftButton)
    assert window.viewer is hanging.cells[("L", "MLO")]

    shown = []
    for _ in range(3):
        shown.append((hanging.layout_name, {v.caption[:5] for v in hanging.visible_viewers()}))
        qtbot.keyClick(window.viewer, Qt.Key.Key_V)

    assert shown == [(GRID, {"R CC ", "L CC ", "R MLO", "L MLO"}),
                     (BREAST, {"L CC ", "L MLO"}),
                     (VIEW, {"L MLO"})]
    assert hanging.layout_name == GRID
    assert window.controls.layout_button.text() == "Layout: 2x2 (V)"


def test_window_level_zoom_and_pan_follow_in_every_cell_while_linked(
        qtbot, make_window, tmp_path: Path) -> None:
    write_study(tmp_path / "study", study_uid=STUDY, patient_id="P-1", level=0.6)
    window = make_window(FakeClassifier())
    window.resize(1600, 1000)
    _open_exam(qtbot, window, tmp_path / "study")
    hanging = window.controls.hanging
    source, same_side, other_side = (hanging.cells[p] for p in
                                     (("R", "CC"), ("R", "MLO"), ("L", "CC")))

    qtbot.mousePress(source, Qt.MouseButton.RightButton, pos=QPoint(100, 100))
    qtbot.mouseMove(source, QPoint(60, 70))
    qtbot.mouseRelease(source, Qt.MouseButton.RightButton, pos=QPoint(60, 70))
    qtbot.mousePress(source, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(source, QPoint(130, 110))
    qtbot.mouseRelease(source, Qt.MouseButton.LeftButton, pos=QPoint(130, 110))

    assert source.window_level != (0.5, 1.0)
    for viewer in hanging.cells.values():
        assert viewer.window_level == pytest.approx(source.window_level)
    factor, u, v = source.relative_view()
    assert same_side.relative_view() == pytest.approx((factor, u, v), abs=1e-3)
    assert other_side.relative_view() == pytest.approx((factor, 1 - u, v), abs=1e-3)  # mirrored

    qtbot.keyClick(source, Qt.Key.Key_L)  # unlink
    assert not window.controls.linked.isChecked()
    before = same_side.window_level
    qtbot.mousePress(source, Qt.MouseButton.RightButton, pos=QPoint(100, 100))
    qtbot.mouseMove(source, QPoint(140, 60))
    qtbot.mouseRelease(source, Qt.MouseButton.RightButton, pos=QPoint(140, 60))
    assert same_side.window_level == before != source.window_level


def test_the_heatmap_key_acts_on_the_active_cell_only(qtbot, make_window,
                                                      tmp_path: Path) -> None:
    write_study(tmp_path / "study", study_uid=STUDY, patient_id="P-1", level=0.6)
    window = make_window(FakeClassifier())
    _open_exam(qtbot, window, tmp_path / "study")
    hanging = window.controls.hanging
    target = hanging.cells[("R", "MLO")]
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton)
    assert target.has_heatmap

    qtbot.keyClick(target, Qt.Key.Key_H)

    assert target.heatmap_visible and window.controls.heatmap.isChecked()
    assert [p for p, v in hanging.cells.items() if v.heatmap_visible] == [("R", "MLO")]
    qtbot.mouseClick(hanging.cells[("L", "CC")], Qt.MouseButton.LeftButton)
    assert not window.controls.heatmap.isChecked()  # the box follows the active cell


def test_the_result_panel_gives_each_breast_and_view_with_its_threshold(
        qtbot, make_window, tmp_path: Path) -> None:
    write_study(tmp_path / "study", study_uid=STUDY, patient_id="P-1", level=0.6)
    window = make_window(FakeClassifier(threshold=0.2))
    _open_exam(qtbot, window, tmp_path / "study")
    entry = window.worklist.current_entry()
    result = entry.result
    panel = window.result_panel

    rows = {row[0].rstrip(" ◂"): row for row in panel.breakdown_rows()}
    assert list(rows) == ["Exam", "Right breast", "Left breast", "R CC", "L CC", "R MLO",
                          "L MLO"]
    for side, name in (("R", "Right breast"), ("L", "Left breast")):
        breast = result.breasts[side]
        assert rows[name][1:] == (f"{breast.score:.3f}", breast.label, "0.200")
        deciding = next(r for r in entry.rows if r.path == breast.deciding_view)
        views = [row for row in panel.breakdown_rows() if row[0].endswith("◂")]
        assert any(row[1] == deciding.score_text for row in views)
        assert breast.score == max(r.score for r in entry.rows
                                   if entry.exam.image(r.path).laterality == side)
    assert rows["Exam"][1] == f"{result.score:.3f}" == panel.probability.text()
    assert panel.threshold.text() == "0.200 (Positive at or above)"
    assert panel.model.text().startswith("fake-densenet-1")
