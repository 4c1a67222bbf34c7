"""Dark theme (the default: reading rooms are dim) and the light one, on the Fusion style."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BANNER_STYLE = (
    "QLabel { background: #5c4a00; color: #ffe08a; padding: 6px 10px; font-weight: bold; }"
)
RESEARCH_STYLE = "QLabel { color: #ffb454; font-weight: bold; }"
FIELD_ERROR_STYLE = "QLabel { color: #e5534b; }"  # readable on the dark and the light theme
POSITIVE_COLOR = "#ff6b6b"
NEGATIVE_COLOR = "#7bd88f"

_DARK = {
    QPalette.ColorRole.Window: "#1e1f22",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#141517",
    QPalette.ColorRole.AlternateBase: "#1b1c1f",
    QPalette.ColorRole.ToolTipBase: "#2b2d31",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#2b2d31",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Link: "#6cb6ff",
    QPalette.ColorRole.Highlight: "#2f6fb5",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.PlaceholderText: "#8a8d93",
}


def apply_theme(app: QApplication, theme: str = "dark") -> None:
    """Fusion with a dark palette, or Fusion's own light palette."""
    app.setStyle("Fusion")
    if theme != "dark":
        app.setPalette(app.style().standardPalette())
        return
    palette = QPalette()
    for role, color in _DARK.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6e74"))
    app.setPalette(palette)
