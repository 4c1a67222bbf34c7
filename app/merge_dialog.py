"""Asks which exam to join into the one chosen in the worklist."""

from __future__ import annotations

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

from app.exam_entries import ExamEntry


def describe_exam(entry: ExamEntry) -> str:
    exam = entry.exam
    details = [d for d in (exam.patient_id, exam.study_date, exam.accession) if d]
    views = f"{len(exam.images)} view{'s' if len(exam.images) != 1 else ''}"
    return " · ".join([entry.title, *details, views])


class MergeDialog(QDialog):
    """The other exams listed; the one picked is joined into ``target``."""

    def __init__(self, target: ExamEntry, others: list[ExamEntry],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Merge exams")
        self.exams = QListWidget()
        for entry in others:
            item = QListWidgetItem(describe_exam(entry))
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(entry.id)
            self.exams.addItem(item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Join into {describe_exam(target)}:"))
        layout.addWidget(self.exams)
        layout.addWidget(buttons)
        self.exams.setCurrentRow(0)

    def choose(self, exam_id: str) -> None:
        for number in range(self.exams.count()):
            if self.exams.item(number).data(Qt.ItemDataRole.UserRole) == exam_id:
                self.exams.setCurrentRow(number)

    def chosen(self) -> str | None:
        item = self.exams.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)
