"""No trained model installed: the app starts, says so, shows images and never a score."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QLabel

from app.main import load_classifier
from app.result_panel import NO_MODEL_TEXT
from tests.app.factories import write_broken_files, write_mammograms
from tests.app.helpers import worklist_texts

SCORE_LIKE = re.compile(r"\b[01]\.\d{2,}\b")


def test_missing_model_is_reported_not_raised(settings) -> None:
    classifier, why = load_classifier(settings)
    assert classifier is None
    assert why is not None and "No trained model is installed" in why


def test_no_model_banner_and_no_score_anywhere(qtbot, make_window, store,
                                               tmp_path: Path) -> None:
    write_mammograms(tmp_path / "images", 3)
    write_broken_files(tmp_path / "images")
    window = make_window(None)

    assert window.banner.isVisible()
    assert window.banner.text() == NO_MODEL_TEXT
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.import_paths([str(tmp_path / "images")])

    statuses = worklist_texts(window, "Status")
    assert statuses.count("not scored") == 3
    assert sum(s.startswith("error: ") for s in statuses) == 2
    assert set(worklist_texts(window, "Score")) == {""}
    assert set(worklist_texts(window, "Class")) == {""}

    window.worklist.select_next(0)
    qtbot.waitUntil(lambda: window.viewer.image is not None)
    assert window.result_panel.probability.text() == "—"
    assert window.result_panel.status.text() == NO_MODEL_TEXT
    assert not window.controls.heatmap.isEnabled()
    shown = " ".join(label.text() for label in window.findChildren(QLabel))
    assert not SCORE_LIKE.search(shown)
    assert store.count_readings() == 0
