"""About: version, the research-use notice and the installed model's card."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from app.result_panel import RESEARCH_NOTICE
from app.theme import RESEARCH_STYLE
from core import __version__
from core.inference.classifier import ModelInfo

MODEL_CARD_NAME = "MODEL_CARD.md"
NO_MODEL_CARD = "No model installed: images are not scored."


def read_model_card(folder: Path | None) -> str | None:
    """The model card's text, or None when the folder has none. Runs on a worker."""
    if folder is None:
        return None
    card = Path(folder) / MODEL_CARD_NAME
    try:
        return card.read_text("utf-8")
    except FileNotFoundError:
        return None


class AboutDialog(QDialog):
    """``model_error`` is why no model is loaded (the loader's message), shown instead of the
    model when ``info`` is None."""

    def __init__(self, *, info: ModelInfo | None, model_card: str | None,
                 model_error: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Mammo Workstation")
        self.resize(640, 560)
        title = QLabel(f"<h2>Mammo Workstation {__version__}</h2>")
        research = QLabel(RESEARCH_NOTICE)
        research.setStyleSheet(RESEARCH_STYLE)
        if info is None:
            model = model_error or NO_MODEL_CARD
        else:
            model = (f"Model {info.model_id} (manifest {info.model_sha256[:12]}), "
                     f"{info.engine} on {info.device}, threshold {info.threshold:.3f}, "
                     f"preprocessing {info.preprocessing_version}. Validation: "
                     f"{info.performance}. From {info.folder}.")
        self.model = QLabel(model)
        self.model.setWordWrap(True)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        if model_card:
            self.card.setMarkdown(model_card)
        elif info is None:
            self.card.setPlainText(model_error or NO_MODEL_CARD)
        else:
            self.card.setPlainText("The installed model has no model card.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(research)
        layout.addWidget(self.model)
        layout.addWidget(self.card, 1)
        layout.addWidget(buttons)
