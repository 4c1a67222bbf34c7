"""The hanging: an exam's views in the standard 2x2, one breast, or one view.

R CC | L CC over R MLO | L MLO (:mod:`core.exams.hanging`), each cell an
:class:`app.viewer.ImageViewer`; the pictures arrive mirrored where needed so that the chest
walls meet in the middle. A missing view is an empty cell that says which view is missing.
Images that cannot be hung for sure (side or view unknown, other views, a second copy) are
listed under the cells and shown one at a time.

The layout key cycles 2x2 -> one breast (the active cell's, CC over MLO) -> one view (the
active cell) -> 2x2. Clicking a cell makes it active: the controls (heatmap, presets, invert)
act on it. With the views linked, window/level, zoom and pan follow in every cell: zoom and
pan by the picture's own proportions, mirrored between the breasts so that both move towards
or away from the chest wall together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.display_image import DisplayImage
from app.exam_entries import describe_image
from app.viewer import ImageViewer
from core.exams import POSITIONS, UNKNOWN, ExamImage, Hanging, Position, position_name

GRID, BREAST, VIEW = "2x2", "one breast", "one view"
LAYOUTS = (GRID, BREAST, VIEW)
NO_EXAM = "Select an exam in the worklist, or import one."


class HangingViewer(QWidget):
    """Emits ``active_changed`` with the path of the image in the active cell (None: none),
    ``layout_changed`` with the layout's name, ``other_clicked`` with the path of a listed
    image the reader asked to see."""

    active_changed = Signal(object)
    layout_changed = Signal(str)
    other_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cells: dict[Position, ImageViewer] = {p: ImageViewer() for p in POSITIONS}
        self.single = ImageViewer()  # an image that is not hung, in the one-view layout
        self._hanging: Hanging | None = None
        self._captions: dict[str, str] = {}
        self._layout = GRID
        self._active: str | None = None
        self._linked = True
        self._propagating = False
        grid = QGridLayout()
        grid.setSpacing(2)
        grid.setContentsMargins(0, 0, 0, 0)
        for number, position in enumerate(POSITIONS):
            grid.addWidget(self.cells[position], number // 2, number % 2)
        grid.addWidget(self.single, 0, 0, 2, 2)
        self.others_row = QHBoxLayout()
        self.others_label = QLabel("Not hung:")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid, 1)
        layout.addLayout(self.others_row)
        self._other_buttons: list[QPushButton] = []
        for viewer in self.viewers():
            viewer.activated.connect(self._on_viewer_activated)
            viewer.window_edited.connect(self._on_window_edited)
            viewer.view_moved.connect(self._on_view_moved)
        self.single.set_message(NO_EXAM)
        self._update_layout()

    # What is shown ------------------------------------------------------------------------

    def viewers(self) -> list[ImageViewer]:
        return [*self.cells.values(), self.single]

    @property
    def hanging(self) -> Hanging | None:
        return self._hanging

    @property
    def layout_name(self) -> str:
        return self._layout

    @property
    def active_path(self) -> str | None:
        return self._active

    @property
    def active_viewer(self) -> ImageViewer:
        """The viewer the controls act on: the active image's cell."""
        if self._hanging is not None and self._active is not None:
            position = self._hanging.position_of(self._active)
            if position is not None:
                return self.cells[position]
        return self.single

    def set_exam(self, hanging: Hanging | None, *, captions: dict[str, str],
                 focus: str | None = None) -> None:
        """Hang an exam (None: nothing), every cell waiting for its picture. ``captions``
        name each image ("R CC · name.dcm"); ``focus`` is the image to make active (else the
        first hung one)."""
        self._hanging = hanging
        self._captions = dict(captions)
        for position, viewer in self.cells.items():
            image = hanging.cells[position] if hanging is not None else None
            viewer.set_caption(self._caption(image, position))
            if image is None:
                viewer.set_message(f"{position_name(position)}: no image in this exam")
            else:
                viewer.set_message(f"Opening {Path(image.path).name}…")
        self._update_others()
        paths = [] if hanging is None else [i.path for i in hanging.ordered()]
        self._active = None
        self.set_active(focus if focus in paths else (paths[0] if paths else None), force=True)
        if hanging is None:
            self.single.set_caption("")
            self.single.set_message(NO_EXAM)

    def update_captions(self, captions: dict[str, str]) -> None:
        """New captions (a score or a side learnt) without reloading the pictures."""
        self._captions.update(captions)
        if self._hanging is not None:
            for position, viewer in self.cells.items():
                viewer.set_caption(self._caption(self._hanging.cells[position], position))
        if self._active is not None and self.active_viewer is self.single:
            self.single.set_caption(self._captions.get(self._active, ""))

    def set_picture(self, path: str, display: DisplayImage, *, heatmap: np.ndarray | None,
                    peak: tuple[float, float] | None) -> None:
        """Show a loaded picture in every cell that holds ``path``; with the views linked it
        takes the active cell's window, zoom and pan."""
        for viewer in self._viewers_of(path):
            opacity = viewer.heatmap_opacity
            viewer.set_image(display, heatmap=heatmap, peak=peak)
            viewer.set_heatmap_opacity(opacity)
            if self._linked and viewer is not self.active_viewer:
                self._follow(viewer, self.active_viewer)

    def set_cell_message(self, path: str, message: str) -> None:
        """Say why a cell shows no picture (waiting, not readable)."""
        for viewer in self._viewers_of(path):
            viewer.set_message(message)

    def shown_path(self, viewer: ImageViewer) -> str | None:
        """The image a viewer holds (None: an empty cell)."""
        if viewer is self.single:
            return self._active if self.active_viewer is self.single else None
        position = next(p for p, v in self.cells.items() if v is viewer)
        image = self._hanging.cells[position] if self._hanging is not None else None
        return None if image is None else image.path

    def set_active(self, path: str | None, *, force: bool = False) -> None:
        """Make ``path``'s cell the active one (the one view shown in that layout)."""
        if path == self._active and not force:
            return
        self._active = path
        if path is not None and self.active_viewer is self.single:
            self.single.set_caption(self._captions.get(path, ""))
            self.single.set_message(f"Opening {Path(path).name}…")
        for viewer in self.viewers():
            viewer.set_highlighted(viewer is self.active_viewer and self._layout != VIEW)
        self._update_layout()
        self.active_changed.emit(path)

    # Layout -------------------------------------------------------------------------------

    def cycle_layout(self) -> None:
        """2x2 -> one breast -> one view -> 2x2."""
        self.set_layout(LAYOUTS[(LAYOUTS.index(self._layout) + 1) % len(LAYOUTS)])

    def set_layout(self, name: str) -> None:
        self._layout = name
        for viewer in self.viewers():
            viewer.set_highlighted(viewer is self.active_viewer and name != VIEW)
        self._update_layout()
        self.layout_changed.emit(name)

    def visible_viewers(self) -> list[ImageViewer]:
        return [v for v in self.viewers() if not v.isHidden()]

    def _update_layout(self) -> None:
        active = self.active_viewer
        hung = self._hanging is not None and bool(self._hanging.hung)
        if not hung or active is self.single:
            shown = {id(self.single)}  # nothing to hang, or an image that is not hung
        elif self._layout == GRID:
            shown = {id(v) for v in self.cells.values()}
        elif self._layout == BREAST:
            side = next(p[0] for p, v in self.cells.items() if v is active)
            shown = {id(self.cells[p]) for p in self._hanging.breast(side)}  # type: ignore[union-attr]
        else:
            shown = {id(active)}
        for viewer in self.viewers():
            viewer.setVisible(id(viewer) in shown)

    # Linked views -------------------------------------------------------------------------

    @property
    def linked(self) -> bool:
        return self._linked

    def set_linked(self, linked: bool) -> None:
        self._linked = linked

    def apply_preset(self, name: str) -> None:
        for viewer in self._targets():
            viewer.apply_preset(name)

    def next_preset(self) -> None:
        self.active_viewer.next_preset()
        if self._linked and self.active_viewer.preset:
            for viewer in self._targets():
                viewer.apply_preset(self.active_viewer.preset)

    def toggle_invert(self) -> None:
        inverted = not self.active_viewer.inverted
        for viewer in self._targets():
            if viewer.image is not None and viewer.inverted != inverted:
                viewer.toggle_invert()

    def reset_view(self) -> None:
        for viewer in self._targets():
            viewer.reset_view()

    def set_heatmap_opacity(self, opacity: float) -> None:
        for viewer in self.viewers():
            viewer.set_heatmap_opacity(opacity)

    def _targets(self) -> list[ImageViewer]:
        return self.viewers() if self._linked else [self.active_viewer]

    @Slot(float, float)
    def _on_window_edited(self, center: float, width: float) -> None:
        source = self.sender()
        if not self._linked or self._propagating or not isinstance(source, ImageViewer):
            return
        self._propagating = True
        try:
            for viewer in self.viewers():
                if viewer is not source and viewer.image is not None:
                    viewer.set_window(*_window_for(viewer, source, center, width))
        finally:
            self._propagating = False

    @Slot()
    def _on_view_moved(self) -> None:
        source = self.sender()
        if not self._linked or self._propagating or not isinstance(source, ImageViewer):
            return
        self._propagating = True
        try:
            for viewer in self.viewers():
                if viewer is not source:
                    self._follow(viewer, source, window=False)
        finally:
            self._propagating = False

    def _follow(self, viewer: ImageViewer, source: ImageViewer, *, window: bool = True) -> None:
        """Give ``viewer`` the zoom and pan (and window) of ``source``."""
        view = source.relative_view()
        if view is None or viewer.image is None:
            return
        factor, u, v = view
        if self._side_of(viewer) not in (None, self._side_of(source)) \
                and self._side_of(source) is not None:
            u = 1.0 - u  # the other breast is mirrored: towards the chest wall on both
        viewer.set_relative_view(factor, u, v)
        if window and source.image is not None:
            if source.preset:  # a named window is the picture's own: each cell gets its own
                viewer.apply_preset(source.preset)
            else:
                viewer.set_window(*_window_for(viewer, source, *source.window_level))

    def _side_of(self, viewer: ImageViewer) -> str | None:
        if viewer is self.single:
            image = self._image(self._active)
            return None if image is None or image.laterality == UNKNOWN else image.laterality
        return next(p[0] for p, v in self.cells.items() if v is viewer)

    # Private ------------------------------------------------------------------------------

    def _image(self, path: str | None) -> ExamImage | None:
        if self._hanging is None or path is None:
            return None
        return next((i for i in self._hanging.ordered() if i.path == path), None)

    def _viewers_of(self, path: str) -> list[ImageViewer]:
        viewers = [v for p, v in self.cells.items() if self._hanging is not None
                   and (image := self._hanging.cells[p]) is not None and image.path == path]
        if self._active == path and self.active_viewer is self.single:
            viewers.append(self.single)
        return viewers

    def _caption(self, image: ExamImage | None, position: Position) -> str:
        if image is None:
            return position_name(position)
        return self._captions.get(image.path, position_name(position))

    def _update_others(self) -> None:
        while self.others_row.count():
            item = self.others_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.others_label:
                widget.deleteLater()
        self._other_buttons = []
        others = self._hanging.others if self._hanging is not None else ()
        shown = bool(others) and self._hanging is not None and bool(self._hanging.hung)
        self.others_label.setVisible(shown)
        if not shown:
            return
        self.others_row.addWidget(self.others_label)
        for image in others:
            button = QPushButton(f"{Path(image.path).name} ({describe_image(image)})")
            button.setFlat(True)
            button.setToolTip("Show this image alone; say its side and view from the "
                              "worklist's menu to hang it")
            button.clicked.connect(lambda _=False, p=image.path: self._on_other_clicked(p))
            self.others_row.addWidget(button)
            self._other_buttons.append(button)
        self.others_row.addStretch(1)

    def _on_other_clicked(self, path: str) -> None:
        self.set_active(path)
        self.other_clicked.emit(path)

    @Slot()
    def _on_viewer_activated(self) -> None:
        viewer = self.sender()
        if isinstance(viewer, ImageViewer):
            path = self.shown_path(viewer)
            if path is not None:
                self.set_active(path)


def _window_for(viewer: ImageViewer, source: ImageViewer, center: float, width: float
                ) -> tuple[float, float]:
    """``source``'s window for ``viewer``: the same window as shown, turned for a picture
    stored the other way round (a negative is windowed before it is inverted)."""
    flip = (viewer.image is not None and source.image is not None
            and viewer.image.negative != source.image.negative)
    return (1.0 - center if flip else center), width
