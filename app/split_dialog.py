"""Asks which images of an exam to move into an exam of their own."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.exam_entries import ExamEntry, describe_image


class SplitDialog(QDialog):
    """The exam's images with check boxes; OK is enabled once some, not all, are checked."""

    def __init__(self, entry: ExamEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Split exam")
        self.images = QListWidget()
        for image in entry.exam.images:
            item = QListWidgetItem(f"{Path(image.path).name} ({describe_image(image)})")
            item.setData(Qt.ItemDataRole.UserRole, image.path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.images.addItem(item)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Move the checked images of {entry.title} into a new exam:"))
        layout.addWidget(self.images)
        layout.addWidget(self.buttons)
        self.images.itemChanged.connect(self._update_ok)
        self._update_ok()

    def check(self, path: str) -> None:
        for number in range(self.images.count()):
            item = self.images.item(number)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                item.setCheckState(Qt.CheckState.Checked)

    def chosen(self) -> list[str]:
        return [item.data(Qt.ItemDataRole.UserRole)
                for item in (self.images.item(n) for n in range(self.images.count()))
                if item.checkState() == Qt.CheckState.Checked]

    def _update_ok(self) -> None:
        count = len(self.chosen())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            0 < count < self.images.count())
