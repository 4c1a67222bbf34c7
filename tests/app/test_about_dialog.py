"""The about dialog shows the model card, or says that no model is installed."""

from __future__ import annotations

from pathlib import Path

from app.about_dialog import NO_MODEL_CARD, AboutDialog, read_model_card
from tests.app.factories import FakeClassifier


def test_about_without_model_says_so(qtbot) -> None:
    dialog = AboutDialog(info=None, model_card=None)
    qtbot.addWidget(dialog)
    assert dialog.model.text() == NO_MODEL_CARD
    assert "No model installed" in dialog.card.toPlainText()


def test_about_shows_the_model_card(qtbot, tmp_path: Path) -> None:
    (tmp_path / "MODEL_CARD.md").write_text("# Model card\n\nTrained on **RSNA** screening data.")
    card = read_model_card(tmp_path)
    dialog = AboutDialog(info=FakeClassifier().info, model_card=card)
    qtbot.addWidget(dialog)
    assert "Trained on RSNA screening data." in dialog.card.toPlainText()
    assert "fake-densenet-1" in dialog.model.text()
    assert read_model_card(tmp_path / "missing") is None
