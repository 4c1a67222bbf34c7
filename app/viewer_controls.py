"""The viewer with its row of controls: heatmap on/off and opacity, window preset, invert,
reset."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.display_image import PRESET_NAMES
from app.viewer import ImageViewer

OPACITY_STEP = 10  # percent per [ or ] key


class ViewerControls(QWidget):
    def __init__(self, *, heatmap_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = ImageViewer()
        self.heatmap = QCheckBox("Heatmap (H)")
        self.heatmap.setEnabled(heatmap_available)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(self.viewer.heatmap_opacity * 100))
        self.opacity.setMinimumWidth(90)
        self.opacity.setMaximumWidth(140)
        self.opacity.setToolTip("Heatmap opacity ([ and ])")
        self.opacity.setEnabled(heatmap_available)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESET_NAMES))
        self.preset.setCurrentIndex(-1)
        self.preset.setToolTip("Window/level preset (W: next). Default: the file's own window; "
                               "Full range: darkest to brightest; Soft tissue: the breast; "
                               "Dense: its brighter part")
        invert = QPushButton("Invert (I)")
        reset = QPushButton("Reset (R)")
        self.viewer.setToolTip("Wheel: zoom · left-drag: pan · right-drag: window/level · "
                               "double-click: fit")
        row = QHBoxLayout()
        row.addWidget(self.heatmap)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity)
        row.addWidget(QLabel("W/L"))
        row.addWidget(self.preset)
        row.addWidget(invert)
        row.addWidget(reset)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.viewer, 1)
        self.heatmap.toggled.connect(self._on_heatmap_toggled)
        self.viewer.heatmap_toggled.connect(self._on_viewer_heatmap_toggled)
        self.opacity.valueChanged.connect(self._on_opacity_changed)
        self.preset.activated.connect(self._on_preset_activated)
        self.viewer.preset_changed.connect(self._on_viewer_preset_changed)
        invert.clicked.connect(self.viewer.toggle_invert)
        reset.clicked.connect(self.viewer.reset_view)

    def step_opacity(self, steps: int) -> None:
        self.opacity.setValue(self.opacity.value() + steps * OPACITY_STEP)

    def next_preset(self) -> None:
        self.viewer.next_preset()

    @Slot(int)
    def _on_preset_activated(self, index: int) -> None:
        self.viewer.apply_preset(self.preset.itemText(index))

    @Slot(str)
    def _on_viewer_preset_changed(self, name: str) -> None:
        self.preset.setCurrentIndex(self.preset.findText(name))  # -1 (blank) when custom

    @Slot(bool)
    def _on_heatmap_toggled(self, checked: bool) -> None:
        if checked != self.viewer.heatmap_visible:
            self.viewer.set_heatmap_visible(checked)

    @Slot(bool)
    def _on_viewer_heatmap_toggled(self, visible: bool) -> None:
        self.heatmap.setChecked(visible)

    @Slot(int)
    def _on_opacity_changed(self, value: int) -> None:
        self.viewer.set_heatmap_opacity(value / 100)
