"""Record what became of an exam, per breast: biopsy malignant, biopsy benign, or no cancer at
follow-up. The outcome is kept with the breast's images (by their pixel hashes), so that the
server can set it against the readings of those images."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.exam_entries import ExamEntry
from core.store import UserId
from core.store.outcomes import OUTCOMES, NewOutcome

SIDES = {"R": "Right breast", "L": "Left breast"}
NOT_KNOWN = "— not known yet —"


def images_by_side(entry: ExamEntry) -> dict[str, tuple[str, ...]]:
    """The pixel hashes of the exam's read images, per breast (L, R)."""
    sides: dict[str, list[str]] = {"L": [], "R": []}
    for image in entry.exam.images:
        row = entry.row(image.path)
        if row is not None and row.reading is not None and image.laterality in sides:
            sides[image.laterality].append(row.reading.pixel_sha256)
    return {side: tuple(dict.fromkeys(hashes)) for side, hashes in sides.items() if hashes}


class OutcomeDialog(QDialog):
    """One choice per breast with read images; :meth:`outcomes` gives what was chosen."""

    def __init__(self, entry: ExamEntry, *, user_id: UserId,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record outcome")
        self._entry = entry
        self._user_id = user_id
        self._images = images_by_side(entry)
        self.choices: dict[str, QComboBox] = {}
        form = QFormLayout()
        for side in ("R", "L"):
            if side not in self._images:
                continue
            combo = QComboBox()
            combo.addItem(NOT_KNOWN, None)
            for key, text in OUTCOMES.items():
                combo.addItem(text, key)
            self.choices[side] = combo
            form.addRow(SIDES[side], combo)
        self.note = QLineEdit()
        self.note.setPlaceholderText("pathology report number, follow-up date…")
        form.addRow("Note", self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{entry.title}</b>"))
        if not self._images:
            layout.addWidget(QLabel("No image of this exam with a known side has been read; "
                                    "an outcome is kept with the breast's read images."))
            self.save_button.setEnabled(False)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def outcomes(self) -> list[NewOutcome]:
        note = self.note.text().strip()
        return [NewOutcome(exam_id=str(self._entry.id), side=side,  # type: ignore[arg-type]
                           outcome=combo.currentData(), pixel_sha256s=self._images[side],
                           user_id=self._user_id, note=note)
                for side, combo in self.choices.items() if combo.currentData() is not None]
