"""Asks which breast and view images show, where neither the file nor its name tells."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from core.exams import ExamImage

SIDES = (("Not known", None), ("Right (R)", "R"), ("Left (L)", "L"))
VIEWS = (("Not known", None), ("CC", "CC"), ("MLO", "MLO"), ("ML", "ML"), ("LM", "LM"),
         ("XCCL", "XCCL"), ("XCCM", "XCCM"), ("FB", "FB"), ("SIO", "SIO"), ("LMO", "LMO"))


class SideDialog(QDialog):
    """One row per image: its side and view (filled in where known). :meth:`answers` gives
    what the reader chose, only for images where they said something new."""

    def __init__(self, images: list[ExamImage], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Which breast and view?")
        self._images = list(images)
        self.sides: dict[str, QComboBox] = {}
        self.views: dict[str, QComboBox] = {}
        intro = QLabel("Neither these files nor their names say which breast or view they "
                       "show. Say it once: the workstation remembers it for these pictures "
                       "and hangs them in their place.")
        intro.setWordWrap(True)
        form = QFormLayout()
        for image in self._images:
            side, view = QComboBox(), QComboBox()
            for text, value in SIDES:
                side.addItem(text, value)
            for text, value in VIEWS:
                view.addItem(text, value)
            side.setCurrentIndex(max(side.findData(image.laterality), 0))
            view.setCurrentIndex(max(view.findData(image.view), 0))
            row = QHBoxLayout()
            row.addWidget(side)
            row.addWidget(view)
            label = QLabel(Path(image.path).name)
            label.setToolTip(image.path)
            form.addRow(label, row)
            self.sides[image.path], self.views[image.path] = side, view
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def set_answer(self, path: str, *, laterality: str | None, view: str | None) -> None:
        """Choose for one image (as the reader would)."""
        self.sides[path].setCurrentIndex(self.sides[path].findData(laterality))
        self.views[path].setCurrentIndex(self.views[path].findData(view))

    def answers(self) -> dict[str, tuple[str | None, str | None]]:
        """(laterality, view) by path for images given a side or view they did not have."""
        chosen = {}
        for image in self._images:
            side = self.sides[image.path].currentData()
            view = self.views[image.path].currentData()
            new_side = side if side not in (None, image.laterality) else None
            new_view = view if view not in (None, image.view) else None
            if new_side or new_view:
                chosen[image.path] = (new_side, new_view)
        return chosen
