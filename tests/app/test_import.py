"""Importing a folder (recursively), a dropped file, and broken files as error rows."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.app.factories import (
    FakeClassifier,
    write_broken_files,
    write_mammogram,
    write_mammograms,
)
from tests.app.helpers import open_message_boxes, worklist_by_file


def test_folder_import_reads_every_image_and_lists_broken_files_as_errors(
        qtbot, make_window, store, tmp_path: Path) -> None:
    folder = tmp_path / "study"
    write_mammograms(folder, 3, prefix="top")
    write_mammograms(folder / "sub" / "deeper", 2, prefix="nested", first=3)
    write_broken_files(folder / "sub")
    window = make_window(FakeClassifier())

    with qtbot.waitSignal(window.batch_finished, timeout=60_000) as finished:
        window.import_paths([str(folder)])

    assert finished.args == [7]
    rows = worklist_by_file(window)
    good = [name for name in rows if name.startswith(("top", "nested"))]
    assert len(good) == 5
    for name in good:
        assert rows[name]["Status"] == "done"
        assert float(rows[name]["Score"]) >= 0
        assert rows[name]["Class"] in ("Positive", "Negative")
        assert rows[name]["Sync"] == "local only"  # no server configured: nothing to send
    assert rows["notes.png"]["Status"].startswith("error: ")
    assert rows["empty.dcm"]["Status"].startswith("error: ")
    assert rows["notes.png"]["Score"] == ""
    assert open_message_boxes() == []  # per-file errors stay in the list
    stored = {Path(r.source_path).name for r in store.list_readings()}
    assert stored == set(good)


def test_dropped_file_is_imported(qtbot, make_window, store, tmp_path: Path) -> None:
    image = write_mammogram(tmp_path / "dropped.png", n=3)
    window = make_window(FakeClassifier())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)

    with qtbot.waitSignal(window.batch_finished, timeout=60_000):
        window.dropEvent(event)

    assert worklist_by_file(window)["dropped.png"]["Status"] == "done"
    assert [Path(r.source_path).name for r in store.list_readings()] == ["dropped.png"]


def test_importing_a_folder_again_opens_its_readings_and_rescore_adds_a_linked_one(
        qtbot, make_window, store, user, tmp_path: Path) -> None:
    folder = tmp_path / "study"
    write_mammograms(folder, 3)
    classifier = FakeClassifier()
    window = make_window(classifier)
    with qtbot.waitSignal(window.batch_finished, timeout=60_000):
        window.import_paths([str(folder)])
    signed = next(r for r in store.list_readings() if r.source_path.endswith("img001.png"))
    store.add_feedback(reading_id=signed.id, user_id=user.id, agrees_with_model=True, birads=2)
    calls = classifier.calls

    with qtbot.waitSignal(window.batch_finished, timeout=60_000) as finished:
        window.import_paths([str(folder)])

    assert finished.args == [3]
    assert classifier.calls == calls  # nothing scored again
    assert store.count_readings() == 3  # no duplicates, so the statistics do not double
    rows = worklist_by_file(window)
    assert len(rows) == 3
    assert rows["img001.png"]["Reader"] == "agrees · 2"  # the signed decision stays in view
    assert all(row["Status"] == "done" for row in rows.values())
    assert "3 read before" in window.statusBar().currentMessage()

    window.worklist.select_path(signed.source_path)
    with qtbot.waitSignal(window.batch_finished, timeout=60_000):
        window.worklist.rescore_action.trigger()

    assert store.count_readings() == 4
    newest = store.list_readings()[0]
    assert newest.rescore_of == signed.id and newest.source_path == signed.source_path
    assert worklist_by_file(window)["img001.png"]["Reader"] == ""  # the new reading is undecided
    assert store.get_reading(signed.id).feedback is not None  # the earlier one keeps its decision
