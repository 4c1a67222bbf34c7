"""The reader's decision is signed; a change is an amendment and the store keeps both."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.app.factories import FakeClassifier, write_mammogram
from tests.app.helpers import worklist_by_file


def test_sign_then_amend_keeps_both_decisions(qtbot, make_window, store, user,
                                              tmp_path: Path) -> None:
    write_mammogram(tmp_path / "case.png", n=4)
    window = make_window(FakeClassifier())
    window.activateWindow()
    qtbot.waitActive(window)
    with qtbot.waitSignal(window.batch_finished, timeout=30_000):
        window.import_paths([str(tmp_path / "case.png")])
    panel = window.decision_panel
    qtbot.waitUntil(lambda: panel.signed.text() == "Not decided yet.")
    assert panel.sign.text() == "Sign decision"
    assert not panel.sign.isEnabled()  # nothing chosen yet

    window.viewer.setFocus()
    qtbot.keyClick(window.viewer, Qt.Key.Key_A)
    assert panel.agree.isChecked()
    panel.birads.setCurrentIndex(2 + 1)  # BI-RADS 2
    panel.note.setPlainText("benign calcifications")
    with qtbot.waitSignal(window.decision_signed, timeout=30_000):
        panel.sign.click()

    (first,) = store.feedback_history(panel.reading.id)
    assert (first.agrees_with_model, first.birads, first.note) == (True, 2,
                                                                   "benign calcifications")
    assert first.username == user.username and first.signed_at is not None
    assert worklist_by_file(window)["case.png"]["Reader"] == "agrees · 2"
    assert panel.sign.text() == "Sign amendment"
    assert "Signed by reader" in panel.signed.text()

    window.viewer.setFocus()
    qtbot.keyClick(window.viewer, Qt.Key.Key_D)
    panel.birads.setCurrentIndex(4 + 1)
    with qtbot.waitSignal(window.decision_signed, timeout=30_000):
        panel.sign.click()

    old, new = store.feedback_history(panel.reading.id)
    assert old == first  # never edited in place
    assert (new.agrees_with_model, new.birads, new.amends_id) == (False, 4, first.id)
    assert panel.history.count() == 2
    assert worklist_by_file(window)["case.png"]["Reader"] == "disagrees · 4"
