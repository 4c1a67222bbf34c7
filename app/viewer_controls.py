"""The hanging with its row of controls: heatmap on/off and opacity, window preset, invert,
reset, linked views and the layout (2x2, one breast, one view).

The heatmap box and the preset box follow the active cell (the one the reader clicked); the
other controls act on every cell while the views are linked.
"""

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
from app.hanging_viewer import HangingViewer
from app.viewer import ImageViewer

OPACITY_STEP = 10  # percent per [ or ] key
DEFAULT_OPACITY = 50


class ViewerControls(QWidget):
    def __init__(self, *, heatmap_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hanging = HangingViewer()
        self._watched: ImageViewer | None = None
        self.heatmap = QCheckBox("Heatmap (H)")
        self.heatmap.setEnabled(heatmap_available)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(DEFAULT_OPACITY)
        self.opacity.setMinimumWidth(70)
        self.opacity.setMaximumWidth(120)
        self.opacity.setToolTip("Heatmap opacity ([ and ])")
        self.opacity.setEnabled(heatmap_available)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESET_NAMES))
        self.preset.setCurrentIndex(-1)
        self.preset.setToolTip("Window/level preset (W: next). Default: the file's own window; "
                               "Full range: darkest to brightest; Soft tissue: the breast; "
                               "Dense: its brighter part")
        self.linked = QCheckBox("Link views (L)")
        self.linked.setChecked(self.hanging.linked)
        self.linked.setToolTip("Window/level, zoom and pan follow in every cell")
        self.layout_button = QPushButton(f"Layout: {self.hanging.layout_name} (V)")
        self.layout_button.setToolTip("2x2, one breast (CC over MLO), one view")
        invert = QPushButton("Invert (I)")
        reset = QPushButton("Reset (R)")
        for viewer in self.hanging.viewers():
            viewer.setToolTip("Wheel: zoom · left-drag: pan · right-drag: window/level · "
                              "double-click: fit · click: make active")
        row = QHBoxLayout()
        for widget in (self.layout_button, self.linked, self.heatmap, QLabel("Opacity"),
                       self.opacity, QLabel("W/L"), self.preset, invert, reset):
            row.addWidget(widget)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.hanging, 1)
        self.heatmap.toggled.connect(self._on_heatmap_toggled)
        self.opacity.valueChanged.connect(self._on_opacity_changed)
        self.preset.activated.connect(self._on_preset_activated)
        self.linked.toggled.connect(self.hanging.set_linked)
        self.layout_button.clicked.connect(self.hanging.cycle_layout)
        self.hanging.layout_changed.connect(self._on_layout_changed)
        self.hanging.active_changed.connect(self._on_active_changed)
        invert.clicked.connect(self.hanging.toggle_invert)
        reset.clicked.connect(self.hanging.reset_view)
        self.hanging.set_heatmap_opacity(DEFAULT_OPACITY / 100)
        self._watch(self.hanging.active_viewer)

    @property
    def viewer(self) -> ImageViewer:
        """The active cell's viewer (what H, I, W and the boxes act on)."""
        return self.hanging.active_viewer

    def step_opacity(self, steps: int) -> None:
        self.opacity.setValue(self.opacity.value() + steps * OPACITY_STEP)

    def next_preset(self) -> None:
        self.hanging.next_preset()

    def toggle_heatmap(self) -> None:
        self.viewer.toggle_heatmap()

    def toggle_linked(self) -> None:
        self.linked.toggle()

    def _watch(self, viewer: ImageViewer) -> None:
        if self._watched is not None:
            self._watched.preset_changed.disconnect(self._on_viewer_preset_changed)
            self._watched.heatmap_toggled.disconnect(self._on_viewer_heatmap_toggled)
        self._watched = viewer
        viewer.preset_changed.connect(self._on_viewer_preset_changed)
        viewer.heatmap_toggled.connect(self._on_viewer_heatmap_toggled)
        self._on_viewer_preset_changed(viewer.preset)
        self._on_viewer_heatmap_toggled(viewer.heatmap_visible)

    @Slot(object)
    def _on_active_changed(self, _path: object) -> None:
        if self.hanging.active_viewer is not self._watched:
            self._watch(self.hanging.active_viewer)

    @Slot(str)
    def _on_layout_changed(self, name: str) -> None:
        self.layout_button.setText(f"Layout: {name} (V)")

    @Slot(int)
    def _on_preset_activated(self, index: int) -> None:
        self.hanging.apply_preset(self.preset.itemText(index))

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
        self.hanging.set_heatmap_opacity(value / 100)
