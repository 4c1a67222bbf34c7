"""The statistics view shows counts, rates and the charts."""

from __future__ import annotations

from app.charts import charts_available
from app.main_window import STATS_TAB
from tests.app.factories import FakeClassifier, store_reading


def test_statistics_view_summarises_stored_readings(qtbot, make_window, store, user) -> None:
    first = store_reading(store, user_id=user.id, path="/a.png", n=1, score=0.9)
    store_reading(store, user_id=user.id, path="/b.png", n=2, score=0.2)
    second = store_reading(store, user_id=user.id, path="/c.png", n=3, score=0.7)
    store.add_feedback(reading_id=first.id, user_id=user.id, agrees_with_model=True, birads=4)
    store.add_feedback(reading_id=second.id, user_id=user.id, agrees_with_model=False, birads=1)
    window = make_window(FakeClassifier())

    window.tabs.setCurrentIndex(STATS_TAB)
    view = window.stats_view
    qtbot.waitUntil(lambda: view.total.text() == "3", timeout=30_000)
    assert view.positive.text() == "66.7% (2 of 3)"
    assert view.agreement.text() == "50.0% (1 of 2 decided)"
    if charts_available():
        assert view.chart.pixmap() is not None and not view.chart.pixmap().isNull()
    else:
        assert "matplotlib" in view.chart.text()
