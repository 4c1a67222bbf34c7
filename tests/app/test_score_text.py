"""A score never reads as if it lay on the other side of the threshold than its class."""

from __future__ import annotations

import pytest

from app.score_text import score_text, threshold_text
from tests.app.factories import FakeClassifier, store_reading
from tests.app.helpers import worklist_by_file


@pytest.mark.parametrize(("score", "threshold", "expected"), [
    (0.4999, 0.5, "0.4999"),  # 3 decimals would read 0.500, which is Positive
    (0.49996, 0.5, "0.49996"),
    (0.4999999, 0.5, "<0.500"),  # even 6 decimals would round up
    (0.5, 0.5, "0.500"),
    (0.73, 0.5, "0.730"),
    (0.4236, 0.4237, "0.4236"),
])
def test_score_text_stays_on_its_side_of_the_threshold(score: float, threshold: float,
                                                        expected: str) -> None:
    assert score_text(score=score, threshold=threshold, positive=score >= threshold) == expected


def test_scores_near_the_threshold_never_contradict_their_class() -> None:
    for step in range(-2000, 2000):
        score = 0.5 + step * 1e-7
        text = score_text(score=score, threshold=0.5, positive=score >= 0.5)
        if text[0].isdigit():
            assert (float(text) >= float(threshold_text(0.5))) == (score >= 0.5), text
        else:
            assert text == ("≥0.500" if score >= 0.5 else "<0.500")


def test_threshold_text_shows_the_threshold_exactly() -> None:
    assert threshold_text(0.5) == "0.500"
    assert threshold_text(0.4237) == "0.4237"


def test_worklist_and_result_show_0_4999_apart_from_threshold_0_5(qtbot, make_window, store,
                                                                 user) -> None:
    store_reading(store, user_id=user.id, path="/cases/border.png", n=1, score=0.4999,
                  threshold=0.5)
    window = make_window(FakeClassifier())
    qtbot.waitUntil(lambda: "border.png" in worklist_by_file(window), timeout=30_000)

    row = worklist_by_file(window)["border.png"]
    assert (row["Score"], row["Class"]) == ("0.4999", "Negative")
    window.worklist.select_path("/cases/border.png")
    panel = window.result_panel
    assert panel.probability.text() == "0.4999"
    assert panel.threshold.text() == "0.500 (Positive at or above)"
