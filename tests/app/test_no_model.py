"""No usable model (none installed, or a file changed): the app starts, says why, shows images
and never a score."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QLabel

from app.about_dialog import AboutDialog
from app.main import load_classifier
from app.main_window import MainWindow
from app.result_panel import NO_MODEL_TEXT
from tests.app.factories import write_broken_files, write_mammograms, write_model_folder
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
    assert window.banner.text() == "No trained model (test)"  # the loader's reason
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


def test_a_changed_model_file_is_named_in_the_banner_and_in_about(
    qtbot, settings, store, user, pools, tmp_path: Path
) -> None:
    folder = write_model_folder(tmp_path / "model")
    (folder / "model.onnx").write_bytes(b"one byte changed")
    classifier, why = load_classifier(settings.model_copy(update={"model_dir": folder}))
    assert classifier is None and why is not None
    assert "model.onnx does not match its manifest" in why and "Reinstall" in why

    window = MainWindow(settings=settings, store=store, user=user, pools=pools,
                        reading_service=None, model_info=None, model_error=why)
    qtbot.addWidget(window)
    window.show()
    assert window.banner.isVisible() and window.banner.text() == why

    next(a for a in window.findChildren(QAction) if a.text() == "&About").trigger()
    qtbot.waitUntil(lambda: any(isinstance(w, AboutDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    about = next(w for w in QApplication.topLevelWidgets() if isinstance(w, AboutDialog))
    assert about.model.text() == why
    about.close()
    window.close()
