"""The worklist keeps file names apart: a wide enough file column, names cut in the middle,
the full path as tooltip."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.worklist import FILE_COLUMN_CHARS
from tests.app.factories import FakeClassifier, store_reading, write_broken_files

UID = "1.2.840.113654.2.70.1.97968942186154398401345718624138"


def test_file_names_stay_apart_on_a_laptop_screen(qtbot, make_window, store, user) -> None:
    paths = [f"/archive/2024/{UID}_L_CC.dcm", f"/archive/2024/{UID}_R_CC.dcm"]
    for n, path in enumerate(paths, start=1):
        store_reading(store, user_id=user.id, path=path, n=n)
    window = make_window(FakeClassifier())
    window.resize(1366, 740)
    qtbot.waitUntil(lambda: window.worklist_model.rowCount() == 2)
    table = window.worklist.table
    metrics = table.fontMetrics()

    qtbot.waitUntil(lambda: table.columnWidth(0) >= metrics.averageCharWidth()
                    * FILE_COLUMN_CHARS)
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle
    shown = {metrics.elidedText(Path(p).name, Qt.TextElideMode.ElideMiddle,
                                table.columnWidth(0) - 8) for p in paths}
    assert len(shown) == 2  # told apart, though both are cut
    model = window.worklist_model
    tooltips = {model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole) for row in range(2)}
    assert tooltips == set(paths)


def test_an_error_rows_tooltip_has_its_path_and_its_error(qtbot, make_window,
                                                         tmp_path: Path) -> None:
    [text_file, _] = write_broken_files(tmp_path)
    window = make_window(FakeClassifier())
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.import_paths([str(text_file)])

    tooltip = window.worklist_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(f"{text_file}\n") and "not an image" in tooltip
