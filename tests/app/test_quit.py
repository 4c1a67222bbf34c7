"""Quitting during a batch cancels cleanly; the next start shows every reading made."""

from __future__ import annotations

from pathlib import Path

from core.store import Store
from tests.app.factories import FakeClassifier, write_mammograms
from tests.app.helpers import worklist_by_file, worklist_texts


def test_quit_mid_batch_keeps_readings_and_drains_pools(qtbot, make_window, store, pools,
                                                        settings, tmp_path: Path) -> None:
    write_mammograms(tmp_path / "batch", 10)
    classifier = FakeClassifier(steps=True)
    window = make_window(classifier)
    window.import_paths([str(tmp_path / "batch")])
    classifier.allow(1)
    qtbot.waitUntil(lambda: worklist_texts(window, "Status").count("done") == 4)
    shown = sorted(f for f, row in worklist_by_file(window).items() if row["Status"] == "done")

    window.close()  # the batch is waiting inside the model

    assert pools.inference.activeThreadCount() == 0
    assert pools.io.activeThreadCount() == 0
    qtbot.waitUntil(lambda: pools.live_count == 0)  # every worker's `finished` arrived
    assert sorted(Path(r.source_path).name for r in store.list_readings()) == shown

    reopened = Store.open(settings.store_path)  # as after a restart
    try:
        again = make_window(FakeClassifier(), window_store=reopened)
        qtbot.waitUntil(lambda: len(again.worklist_model.rows()) == 4)
        rows = worklist_by_file(again)
        assert sorted(rows) == shown
        assert {row["Status"] for row in rows.values()} == {"done"}
        again.close()
    finally:
        reopened.close()
