"""The Statistics tab's agreement part and the outcome of an exam per breast."""

from __future__ import annotations

from pathlib import Path

from app.agreement_view import AgreementView
from app.charts import render_agreement_chart
from app.outcome_dialog import OutcomeDialog
from core.contracts import AgreementPublic
from tests.app.factories import FakeClassifier, write_mammogram

WAIT_MS = 30_000


def rate(k: int, n: int, low: float | None, high: float | None) -> dict:
    return {"numerator": k, "denominator": n, "value": k / n if n else None,
            "low": low, "high": high}


def agreement() -> AgreementPublic:
    screening = {"sensitivity": rate(2, 2, 0.342, 1.0), "specificity": rate(0, 1, 0.0, 0.793),
                 "recall_rate": rate(3, 3, 0.4385, 1.0)}
    return AgreementPublic.model_validate({
        "rows": [{"reader": "dr-a", "model": "tiny@abcdefabcdef", "cases": 3,
                  "agreement": rate(3, 3, 0.4385, 1.0),
                  "kappa": {"value": None, "low": None, "high": None}, "disagreements": 0,
                  "with_outcome": 3, "reader_alone": screening, "model_alone": screening,
                  "reader_or_model": screening}],
        "disagreements": [{"reader": "dr-a", "model": "tiny@abcdefabcdef", "exam_key": "E1",
                           "breast": "L", "pixel_sha256s": ["ab" * 32], "birads": 1,
                           "reader_recall": False, "model_positive": True, "score": 0.91,
                           "outcome": "malignant"}],
    })


def test_agreement_is_shown_with_its_intervals_and_the_cases_to_review(qtbot):
    view = AgreementView()
    qtbot.addWidget(view)
    figures = agreement()

    view.show_agreement(figures, render_agreement_chart(figures))

    assert "agreement 100.0% (43.9%-100.0%, 3/3)" in view.table.text()
    assert "kappa n/a (one class only)" in view.table.text()
    assert "specificity 0.0% (0.0%-79.3%, 0/1)" in view.table.text()
    assert "E1 L: dr-a BI-RADS 1 (no recall), model positive (score 0.91), outcome: " \
           "biopsy malignant" in view.disagreements.text()
    assert not view.chart.pixmap().isNull()


def test_without_a_server_the_tab_says_where_agreement_comes_from(make_window):
    window = make_window(FakeClassifier())

    assert "central server" in window.stats_view.agreement_view.status.text()


def test_the_outcome_of_each_breast_is_kept_with_its_images(make_window, qtbot, store, user,
                                                             tmp_path: Path):
    window = make_window(FakeClassifier())
    paths = [write_mammogram(tmp_path / "in" / f"case7_{side}_CC.png", n=n)
             for n, side in enumerate("LR")]
    with qtbot.waitSignal(window.batch_finished, timeout=WAIT_MS):
        window.import_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: window.hanging.entry is not None, timeout=WAIT_MS)
    readings = {Path(r.source_path).name: r for r in store.list_readings()}

    dialog = OutcomeDialog(window.hanging.entry, user_id=user.id, parent=window)
    qtbot.addWidget(dialog)
    left = dialog.choices["L"]
    left.setCurrentIndex(left.findData("malignant"))
    dialog.note.setText("path 2024-113")
    [chosen] = dialog.outcomes()
    store.outcomes.record([chosen])

    assert set(dialog.choices) == {"L", "R"}
    assert chosen.side == "L" and chosen.note == "path 2024-113"
    assert chosen.pixel_sha256s == (readings["case7_L_CC.png"].pixel_sha256,)
    assert store.outcomes.latest(str(window.hanging.entry.id))["L"].outcome == "malignant"
