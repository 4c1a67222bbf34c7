"""History and search over past readings; opening one shows it in the reading tab."""

from __future__ import annotations

from app.main_window import HISTORY_TAB, READING_TAB
from tests.app.factories import FakeClassifier, store_reading


def test_history_filters_by_text_and_class_and_opens_a_reading(qtbot, make_window, store,
                                                               user) -> None:
    store_reading(store, user_id=user.id, path="/archive/smith_LCC.png", n=1, score=0.9)
    store_reading(store, user_id=user.id, path="/archive/smith_RCC.png", n=2, score=0.1)
    store_reading(store, user_id=user.id, path="/archive/jones_LMLO.png", n=3, score=0.8)
    window = make_window(FakeClassifier())
    history = window.history_view

    window.tabs.setCurrentIndex(HISTORY_TAB)
    qtbot.waitUntil(lambda: history.table.rowCount() == 3)
    history.search.setText("smith")
    qtbot.waitUntil(lambda: history.table.rowCount() == 2)
    history.label.setCurrentText("Positive")
    qtbot.waitUntil(lambda: history.table.rowCount() == 1)
    assert history.table.item(0, 1).text() == "smith_LCC.png"
    assert history.table.item(0, 2).text() == "0.900"  # as the result panel shows it
    assert history.summary.text() == "1 readings"

    history.table.cellDoubleClicked.emit(0, 1)
    assert window.tabs.currentIndex() == READING_TAB
    current = window.worklist.current_row()
    assert current is not None and current.path == "/archive/smith_LCC.png"
    assert window.result_panel.probability.text() == "0.900"
    qtbot.waitUntil(lambda: window.viewer.image is None
                    and "Cannot show this image" in window.viewer.message)
