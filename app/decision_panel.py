"""The reader's decision: agree or disagree with the model, BI-RADS, a note; signed on save.

A signed decision is never edited: saving again signs an amendment that names the decision it
replaces, and the history below keeps both.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.store import FeedbackId, FeedbackRecord, ReadingId, ReadingRecord

BIRADS_TEXT = ("0 — incomplete", "1 — negative", "2 — benign", "3 — probably benign",
               "4 — suspicious", "5 — highly suggestive of malignancy",
               "6 — known malignancy")
NO_BIRADS = "— not given —"


@dataclass(frozen=True)
class DecisionDraft:
    """A decision the reader asked to sign."""

    reading_id: ReadingId
    agrees_with_model: bool
    birads: int | None
    note: str
    amends_id: FeedbackId | None


def describe_feedback(record: FeedbackRecord) -> str:
    verdict = "Agrees" if record.agrees_with_model else "Disagrees"
    birads = "" if record.birads is None else f", BI-RADS {record.birads}"
    amended = " (amendment)" if record.amends_id else ""
    when = record.signed_at.astimezone().strftime("%Y-%m-%d %H:%M")
    note = f" — {record.note}" if record.note else ""
    return f"{when} {record.username}: {verdict}{birads}{amended}{note}"


class DecisionPanel(QGroupBox):
    """Emits ``sign_clicked`` with a :class:`DecisionDraft`; the window signs it in the store."""

    sign_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Reader decision", parent)
        self._reading: ReadingRecord | None = None
        self._history: list[FeedbackRecord] = []
        self._loaded = False
        self.agree = QRadioButton("Agree with model (A)")
        self.disagree = QRadioButton("Disagree (D)")
        self._verdict = QButtonGroup(self)
        self._verdict.addButton(self.agree)
        self._verdict.addButton(self.disagree)
        self.birads = QComboBox()
        self.birads.addItems([NO_BIRADS, *BIRADS_TEXT])
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("Note (optional)")
        self.note.setMaximumHeight(70)
        self.sign = QPushButton("Sign decision")
        self.signed = QLabel()
        self.signed.setWordWrap(True)
        self.history = QListWidget()
        self.history.setMaximumHeight(90)
        verdict = QHBoxLayout()
        verdict.addWidget(self.agree)
        verdict.addWidget(self.disagree)
        form = QFormLayout()
        form.addRow("BI-RADS", self.birads)
        layout = QVBoxLayout(self)
        layout.addLayout(verdict)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.sign)
        layout.addWidget(self.signed)
        layout.addWidget(QLabel("History"))
        layout.addWidget(self.history)
        self.sign.clicked.connect(self._on_sign_clicked)
        self._verdict.buttonToggled.connect(self._on_verdict_toggled)
        self.set_reading(None, message="Select a scored image to record your decision.")

    @property
    def reading(self) -> ReadingRecord | None:
        return self._reading

    def set_reading(self, reading: ReadingRecord | None, *, message: str = "",
                    history: list[FeedbackRecord] | None = None) -> None:
        """Decide on ``reading``; ``history`` None means it is still loading (signing waits)."""
        self._reading = reading
        self._history = list(history or [])
        self.history.clear()
        self.history.addItems([describe_feedback(f) for f in self._history])
        latest = self._history[-1] if self._history else None
        self._fill(latest)
        loaded = reading is not None and history is not None
        self._loaded = loaded
        for widget in (self.agree, self.disagree, self.birads, self.note):
            widget.setEnabled(reading is not None)
        self.sign.setText("Sign amendment" if latest else "Sign decision")
        self.sign.setEnabled(loaded and self._verdict.checkedButton() is not None)
        if reading is None:
            self.signed.setText(message)
        elif history is None:
            self.signed.setText("Loading earlier decisions…")
        elif latest is None:
            self.signed.setText("Not decided yet.")
        else:
            when = latest.signed_at.astimezone().strftime("%Y-%m-%d %H:%M")
            self.signed.setText(f"Signed by {latest.username} at {when}. Signing again "
                                "records an amendment; the earlier decision is kept.")

    def set_agrees(self, agrees: bool) -> None:
        """Pick agree or disagree (the A and D keys)."""
        if self._reading is not None:
            (self.agree if agrees else self.disagree).setChecked(True)

    def set_busy(self, busy: bool) -> None:
        self.sign.setEnabled(not busy and self._loaded
                             and self._verdict.checkedButton() is not None)
        if busy:
            self.signed.setText("Signing…")

    def _fill(self, latest: FeedbackRecord | None) -> None:
        self._verdict.setExclusive(False)
        self.agree.setChecked(latest is not None and latest.agrees_with_model)
        self.disagree.setChecked(latest is not None and not latest.agrees_with_model)
        self._verdict.setExclusive(True)
        self.birads.setCurrentIndex(0 if latest is None or latest.birads is None
                                    else latest.birads + 1)
        self.note.setPlainText(latest.note if latest else "")

    @Slot()
    def _on_verdict_toggled(self) -> None:
        self.sign.setEnabled(self._loaded and self._verdict.checkedButton() is not None)

    @Slot()
    def _on_sign_clicked(self) -> None:
        if self._reading is None or self._verdict.checkedButton() is None:
            return
        index = self.birads.currentIndex()
        self.sign_clicked.emit(DecisionDraft(
            reading_id=self._reading.id,
            agrees_with_model=self.agree.isChecked(),
            birads=None if index == 0 else index - 1,
            note=self.note.toPlainText().strip(),
            amends_id=self._history[-1].id if self._history else None,
        ))
