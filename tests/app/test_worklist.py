"""The worklist keeps names apart: a wide enough name column, names cut in the middle, the
full path as an image's tooltip, its error after the path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.worklist import NAME_COLUMN_CHARS
from tests.app.factories import FakeClassifier, store_reading, write_broken_files

UID = "1.2.840.113654.2.70.1.97968942186154398401345718624138"


def _image_tooltips(window) -> set[str]:
    model = window.worklist_model
    model.flush()
    exam = model.index(0, 0)
    return {model.index(n, 0, exam).data(Qt.ItemDataRole.ToolTipRole)
            for n in range(model.rowCount(exam))}


def test_file_names_stay_apart_on_a_laptop_screen(qtbot, make_window, store, user) -> None:
    paths = [f"/archive/2024/{UID}_L_CC.dcm", f"/archive/2024/{UID}_R_CC.dcm"]
    for n, path in enumerate(paths, start=1):
        store_reading(store, user_id=user.id, path=path, n=n)
    window = make_window(FakeClassifier())
    window.resize(1366, 740)
    qtbot.waitUntil(lambda: len(window.worklist_model.rows()) == 2)
    tree = window.worklist.tree
    metrics = tree.fontMetrics()

    qtbot.waitUntil(lambda: tree.columnWidth(0) >= metrics.averageCharWidth()
                    * NAME_COLUMN_CHARS)
    assert tree.textElideMode() == Qt.TextElideMode.ElideMiddle
    shown = {metrics.elidedText(Path(p).name, Qt.TextElideMode.ElideMiddle,
                                tree.columnWidth(0) - 40) for p in paths}  # less the indent
    assert len(shown) == 2  # told apart, though both are cut
    assert _image_tooltips(window) == set(paths)
    assert window.worklist_model.rowCount() == 1  # one exam: <exam>_<side>_<view> names


def test_an_error_rows_tooltip_has_its_path_and_its_error(qtbot, make_window,
                                                         tmp_path: Path) -> None:
    [text_file, _] = write_broken_files(tmp_path)
    window = make_window(FakeClassifier())
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.import_paths([str(text_file)])

    [tooltip] = _image_tooltips(window)
    assert tooltip.startswith(f"{text_file}\n") and "not an image" in tooltip
