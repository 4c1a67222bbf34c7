"""One breast's part of the reader's assessment: BI-RADS, density, verdict on the model,
finding marks and a note."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from core.assessment import BIRADS_TEXT, DENSITY_TEXT, side_of
from core.store import AssessmentRecord, BreastSide, FindingMark

NO_BIRADS = "— not assessed —"
NO_DENSITY = "— not given —"
VERDICTS = ("— verdict —", "Agree", "Disagree")


class BreastForm(QGroupBox):
    """Emits ``edited`` whenever the reader changes a field or a mark."""

    edited = Signal()

    def __init__(self, side: BreastSide, parent: QWidget | None = None) -> None:
        super().__init__(f"{side_of(side).title()} breast ({side})", parent)
        self.side = side
        self._marks: list[FindingMark] = []
        self.birads = QComboBox()
        self.birads.addItems([NO_BIRADS, *BIRADS_TEXT.values()])
        self.density = QComboBox()
        self.density.addItems([NO_DENSITY, *DENSITY_TEXT.values()])
        self.model = QLabel()
        self.model.setWordWrap(True)
        self.verdict = QComboBox()
        self.verdict.addItems(list(VERDICTS))
        self.verdict.setToolTip("Your verdict on the model's class for this breast")
        self.marks_text = QLabel()
        self.clear_marks = QPushButton("Clear")
        self.clear_marks.setToolTip("Remove this breast's finding marks")
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (optional)")
        self.note.setMaxLength(4000)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.verdict)
        for combo in (self.birads, self.density, self.verdict):
            # Long category names must not widen the side panel: the list shows them whole.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        marks_row = QHBoxLayout()
        marks_row.addWidget(self.marks_text, 1)
        marks_row.addWidget(self.clear_marks)
        form = QFormLayout(self)
        form.addRow("BI-RADS", self.birads)
        form.addRow("Density", self.density)
        form.addRow("Model", model_row)
        form.addRow("Findings", marks_row)
        form.addRow("Note", self.note)
        self.birads.currentIndexChanged.connect(self._on_field_edited)
        self.density.currentIndexChanged.connect(self._on_field_edited)
        self.verdict.currentIndexChanged.connect(self._on_field_edited)
        self.note.textEdited.connect(self._on_field_edited)
        self.clear_marks.clicked.connect(self._on_clear_marks_clicked)
        self._update_marks()

    # What the reader entered --------------------------------------------------------------

    @property
    def birads_value(self) -> str | None:
        index = self.birads.currentIndex()
        return None if index <= 0 else list(BIRADS_TEXT)[index - 1]

    @property
    def density_value(self) -> str | None:
        index = self.density.currentIndex()
        return None if index <= 0 else list(DENSITY_TEXT)[index - 1]

    @property
    def agrees_with_model(self) -> bool | None:
        """None when no verdict was given, or the model's output is not shown."""
        if not self.verdict.isEnabled():
            return None
        return {1: True, 2: False}.get(self.verdict.currentIndex())

    @property
    def marks(self) -> tuple[FindingMark, ...]:
        return tuple(self._marks)

    def set_birads(self, category: str | None) -> None:
        self.birads.setCurrentIndex(0 if category is None else list(BIRADS_TEXT).index(category)
                                    + 1)

    def set_density(self, density: str | None) -> None:
        self.density.setCurrentIndex(0 if density is None else list(DENSITY_TEXT).index(density)
                                     + 1)

    def set_verdict(self, agrees: bool | None) -> None:
        self.verdict.setCurrentIndex(0 if agrees is None else (1 if agrees else 2))

    def add_mark(self, mark: FindingMark) -> None:
        self._marks.append(mark)
        self._update_marks()
        self.edited.emit()

    def remove_mark(self, mark: FindingMark) -> None:
        self._marks.remove(mark)
        self._update_marks()
        self.edited.emit()

    # Filled by the panel ------------------------------------------------------------------

    def load(self, latest: AssessmentRecord | None) -> None:
        """Show the current assessment (blank when none), without signalling an edit."""
        widgets = (self.birads, self.density, self.verdict, self.note)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.set_birads(latest.birads if latest else None)
            self.set_density(latest.density if latest else None)
            self.set_verdict(latest.agrees_with_model if latest else None)
            self.note.setText(latest.note if latest else "")
            self._marks = list(latest.marks) if latest else []
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self._update_marks()

    def show_model(self, text: str, *, can_agree: bool) -> None:
        """The model's output for this breast (or why there is none); a verdict only on an
        output that is shown."""
        self.model.setText(text)
        self.verdict.setEnabled(can_agree)
        if not can_agree:
            self.verdict.blockSignals(True)
            self.verdict.setCurrentIndex(0)
            self.verdict.blockSignals(False)

    def _update_marks(self) -> None:
        count = len(self._marks)
        self.marks_text.setText("none marked" if not count else
                                f"{count} mark{'s' if count != 1 else ''}")
        self.clear_marks.setEnabled(bool(count))

    @Slot()
    def _on_field_edited(self) -> None:
        self.edited.emit()

    @Slot()
    def _on_clear_marks_clicked(self) -> None:
        self._marks.clear()
        self._update_marks()
        self.edited.emit()
