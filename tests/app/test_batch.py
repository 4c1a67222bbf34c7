"""A batch shows its progress, and cancelling keeps the readings already made."""

from __future__ import annotations

from pathlib import Path

from tests.app.factories import FakeClassifier, write_broken_files, write_mammograms
from tests.app.helpers import worklist_texts

IMAGES_PER_STEP = 4  # core.reading.IMAGES_PER_BATCH: one predict call per four images


def test_progress_then_cancel_keeps_finished_readings(qtbot, make_window, store,
                                                      tmp_path: Path) -> None:
    write_mammograms(tmp_path / "batch", 12)
    classifier = FakeClassifier(steps=True)
    window = make_window(classifier)
    window.import_paths([str(tmp_path / "batch")])
    qtbot.waitUntil(lambda: len(window.worklist_model.rows()) == 12)
    assert window.worklist.progress.isVisible()
    assert window.worklist.cancel_button.isVisible()
    assert set(worklist_texts(window, "Status")) == {"queued", "running"}

    classifier.allow(1)
    qtbot.waitUntil(lambda: worklist_texts(window, "Status").count("done") == IMAGES_PER_STEP)
    assert window.worklist.progress.value() == IMAGES_PER_STEP
    assert window.worklist.progress.maximum() == 12
    assert "running" in worklist_texts(window, "Status")

    with qtbot.waitSignal(window.batch_finished, timeout=30_000) as finished:
        window.worklist.cancel_button.click()
        classifier.allow(1)

    assert finished.args == [None]  # cancelled
    statuses = worklist_texts(window, "Status")
    assert statuses.count("done") == IMAGES_PER_STEP
    assert statuses.count("cancelled") == 12 - IMAGES_PER_STEP
    assert not window.worklist.progress.isVisible()
    assert store.count_readings() == IMAGES_PER_STEP


def test_import_during_a_batch_waits_for_it(qtbot, make_window, tmp_path: Path) -> None:
    write_mammograms(tmp_path / "first", 2, prefix="a")
    write_mammograms(tmp_path / "second", 2, prefix="b", first=2)
    classifier = FakeClassifier(steps=True)
    window = make_window(classifier)
    window.import_paths([str(tmp_path / "first")])
    window.import_paths([str(tmp_path / "second")])
    classifier.allow(2)

    qtbot.waitUntil(lambda: worklist_texts(window, "Status").count("done") == 4,
                    timeout=30_000)
    assert not window.batch_running


def test_the_summary_counts_only_the_batch_that_just_ended(qtbot, make_window,
                                                          tmp_path: Path) -> None:
    write_broken_files(tmp_path / "first")
    write_mammograms(tmp_path / "first", 1, prefix="a")
    write_mammograms(tmp_path / "second", 2, prefix="b", first=1)
    window = make_window(FakeClassifier())
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.import_paths([str(tmp_path / "first")])
    assert window.statusBar().currentMessage() == "Finished: 3 images read, 2 with errors."

    with qtbot.waitSignal(window.batch_finished, timeout=30_000) as finished:
        window.import_paths([str(tmp_path / "second")])

    assert finished.args == [2]
    assert window.statusBar().currentMessage() == "Finished: 2 images read."
