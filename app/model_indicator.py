"""The status bar's model indicator: the version in use (id, manifest hash) and how it did on
patients it never saw; a version waiting to be switched to, or one refused, with the reason
in the tooltip."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from core.inference.classifier import ModelInfo

WARNING_STYLE = "QLabel { color: #ffb454; }"


def model_text(info: ModelInfo | None) -> str:
    """One line: ``Model <id> (<hash>) · <validation figures>``."""
    if info is None:
        return "No model"
    return f"Model {info.model_id} ({info.model_sha256[:12]}) · {info.performance}"


def model_details(info: ModelInfo | None) -> str:
    if info is None:
        return "No model is installed: images are not scored."
    return (f"Model {info.model_id}\nmanifest SHA-256 {info.model_sha256}\n"
            f"{info.engine} on {info.device}, threshold {info.threshold:.3f}, "
            f"preprocessing {info.preprocessing_version}\n{info.performance}\n"
            f"folder {info.folder}")


class ModelIndicator(QLabel):
    """Shows the model in use; :meth:`show_notice` adds a warning (tooltip: the reason)."""

    def __init__(self, info: ModelInfo | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._notice: str | None = None
        self.show_model(info)

    def show_model(self, info: ModelInfo | None) -> None:
        self._info = info
        self._notice = None
        self.setStyleSheet("")
        self.setText(model_text(info))
        self.setToolTip(model_details(info))

    def show_notice(self, text: str) -> None:
        """A version waits for the batch to end, or was refused: said next to the model."""
        self._notice = text
        self.setStyleSheet(WARNING_STYLE)
        self.setText(f"{model_text(self._info)} · {text.split(':')[0]}")
        self.setToolTip(f"{text}\n\n{model_details(self._info)}")

    @property
    def notice(self) -> str | None:
        return self._notice
