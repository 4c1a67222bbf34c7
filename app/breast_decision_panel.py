"""The reader's decision per breast: BI-RADS, density, finding marks and a note for each
breast of the exam shown, signed together; with or without the model.

A signed assessment is never edited: changing one signs an amendment, which needs its reason;
the history keeps both. Saving what is already signed signs nothing. Finding marks are placed
by clicking on the image while "Place mark" is on (the controller turns clicks into marks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.breast_form import BreastForm
from app.theme import FIELD_ERROR_STYLE
from core.assessment import describe, is_unchanged, side_of
from core.store import (
    BREAST_SIDES,
    AssessmentRecord,
    BreastSide,
    ModelOpinion,
    NewAssessment,
    ReadingMode,
    UserId,
)


@dataclass(frozen=True)
class BreastModel:
    """What the panel shows of the model for one breast: ``text`` (the score, or why there is
    none), the ``opinion`` when it is shown, and how an assessment of it is signed."""

    text: str
    opinion: ModelOpinion | None
    mode: ReadingMode
    detail: str = ""  # the threshold, as a tooltip


class BreastDecisionPanel(QGroupBox):
    """Emits ``sign_clicked`` with the assessments to sign (changes only, both breasts),
    ``marking_toggled`` when "Place mark" is turned on or off, ``without_model_toggled`` when
    the reader chooses to read without the model, ``marks_edited`` when marks change."""

    sign_clicked = Signal(object)
    marking_toggled = Signal(bool)
    without_model_toggled = Signal(bool)
    marks_edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Reader's assessment", parent)
        self._exam_id: str | None = None
        self._user_id: UserId | None = None
        self._latest: dict[BreastSide, AssessmentRecord] = {}
        self._loaded = False
        self._models: dict[BreastSide, BreastModel] = {}
        self.forms = {side: BreastForm(side) for side in BREAST_SIDES}
        self.place_mark = QPushButton("Place mark (M)")
        self.place_mark.setCheckable(True)
        self.place_mark.setToolTip("While on, a click on a view marks a finding there; a click "
                                   "on a mark removes it")
        self.without_model = QCheckBox("Read without model")
        self.without_model.setToolTip("Hide the model's score and heatmap; assessments are "
                                      "signed as read without the model")
        self.model_status = QLabel()
        self.model_status.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason for the amendment (required)")
        self.reason_error = QLabel()
        self.reason_error.setStyleSheet(FIELD_ERROR_STYLE)
        self.reason_error.setWordWrap(True)
        self.sign = QPushButton("Sign assessment")
        self.signed = QLabel()
        self.signed.setWordWrap(True)
        self.history = QListWidget()
        self.history.setMaximumHeight(80)
        tools = QHBoxLayout()
        tools.addWidget(self.place_mark)
        tools.addWidget(self.without_model)
        breasts = QWidget()
        breasts_layout = QVBoxLayout(breasts)
        breasts_layout.setContentsMargins(0, 0, 0, 0)
        breasts_layout.addWidget(self.forms["R"])
        breasts_layout.addWidget(self.forms["L"])
        breasts_layout.addStretch(1)
        scroll = QScrollArea()  # on a short screen the forms scroll rather than squash
        scroll.setWidget(breasts)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(min(breasts.sizeHint().height(), 260))
        layout = QVBoxLayout(self)
        layout.addWidget(self.model_status)
        layout.addWidget(scroll, 1)
        layout.addLayout(tools)
        layout.addWidget(self.reason)
        layout.addWidget(self.reason_error)
        layout.addWidget(self.sign)
        layout.addWidget(self.signed)
        layout.addWidget(self.history)
        for form in self.forms.values():
            form.edited.connect(self._on_form_edited)
        self.sign.clicked.connect(self._on_sign_clicked)
        self.place_mark.toggled.connect(self.marking_toggled)
        self.without_model.toggled.connect(self.without_model_toggled)
        self.reason.textEdited.connect(self._on_reason_edited)
        self.set_exam(None, user_id=None, history=[], message="Select an exam to assess it.")

    # State --------------------------------------------------------------------------------

    @property
    def exam_id(self) -> str | None:
        return self._exam_id

    @property
    def latest(self) -> dict[BreastSide, AssessmentRecord]:
        """The current signed assessment of each breast (assessed ones only)."""
        return dict(self._latest)

    def set_exam(self, exam_id: str | None, *, user_id: UserId | None,
                 history: list[AssessmentRecord] | None, message: str = "") -> None:
        """Assess ``exam_id``; ``history`` is this reader's assessments of it, oldest first
        (None while loading: signing waits)."""
        self._exam_id = exam_id
        self._user_id = user_id
        self._loaded = exam_id is not None and history is not None
        self._latest = {}
        for record in history or []:
            self._latest[record.side] = record
        for side, form in self.forms.items():
            form.load(self._latest.get(side))
            form.setEnabled(exam_id is not None)
        self.history.clear()
        self.history.addItems([f"{r.side}: {describe(r)}" for r in reversed(history or [])])
        self.reason.clear()
        self.reason_error.clear()
        if exam_id is None:
            self.signed.setText(message)
        elif history is None:
            self.signed.setText("Loading earlier assessments…")
        elif not self._latest:
            self.signed.setText("Not assessed yet.")
        else:
            newest = max(self._latest.values(), key=lambda r: r.signed_at)
            when = newest.signed_at.astimezone().strftime("%Y-%m-%d %H:%M")
            self.signed.setText(f"Signed by {newest.username} at {when}. A change is signed "
                                "as an amendment with its reason; the earlier one is kept.")
        self._update_sign()
        self.marks_edited.emit()

    def set_model(self, breasts: dict[BreastSide, BreastModel], *, status: str) -> None:
        """What to show of the model for each breast, and a line about it (blinded...)."""
        self._models = dict(breasts)
        for side, form in self.forms.items():
            model = breasts.get(side)
            form.show_model(model.text if model else "—",
                            can_agree=model is not None and model.opinion is not None)
            form.model.setToolTip(model.detail if model else "")
        self.model_status.setText(status)
        self.model_status.setVisible(bool(status))
        self._update_sign()

    def set_busy(self, busy: bool) -> None:
        self.sign.setEnabled(not busy and self._loaded)
        if busy:
            self.signed.setText("Signing…")

    def drafts(self) -> list[NewAssessment]:
        """What signing now would sign: the breasts given a category whose assessment changes."""
        if self._exam_id is None or self._user_id is None:
            return []
        found = []
        for side, form in self.forms.items():
            birads = form.birads_value
            if birads is None:
                continue
            model = self._models.get(side)
            latest = self._latest.get(side)
            draft = NewAssessment(
                exam_id=self._exam_id, side=side, user_id=self._user_id, birads=birads,
                density=form.density_value, marks=form.marks, note=form.note.text().strip(),
                mode=model.mode if model else "without_model",
                model=model.opinion if model else None,
                agrees_with_model=form.agrees_with_model if model and model.opinion else None,
                amends_id=latest.id if latest else None,
                amend_reason=self.reason.text().strip() if latest else "")
            # A verdict can only be given on an output shown: with the model hidden now, the
            # verdict signed earlier is not a change.
            same = draft if draft.model is not None or latest is None else replace(
                draft, agrees_with_model=latest.agrees_with_model)
            if not is_unchanged(same, latest):
                found.append(draft)
        return found

    # Private ------------------------------------------------------------------------------

    def _amending(self) -> bool:
        return any(d.amends_id is not None for d in self.drafts())

    def _update_sign(self) -> None:
        amending = self._amending()
        self.reason.setVisible(amending)
        self.reason_error.setVisible(amending and bool(self.reason_error.text()))
        self.sign.setText("Sign amendment" if amending else "Sign assessment")
        self.sign.setEnabled(self._loaded)

    @Slot()
    def _on_form_edited(self) -> None:
        self._update_sign()
        self.marks_edited.emit()

    @Slot()
    def _on_reason_edited(self) -> None:
        self.reason_error.clear()
        self.reason_error.setVisible(False)

    @Slot()
    def _on_sign_clicked(self) -> None:
        if not self._loaded:
            return
        cleared = [s for s, f in self.forms.items() if f.birads_value is None and s in self._latest]
        if cleared:
            self.signed.setText(f"The {side_of(cleared[0])} breast is signed: choose its "
                                "category again, or another one to amend it.")
            return
        drafts = self.drafts()
        if not drafts:
            any_category = any(f.birads_value for f in self.forms.values())
            self.signed.setText("Nothing changed: nothing was signed." if any_category
                                else "Choose a BI-RADS category for a breast first.")
            return
        if any(d.amends_id is not None and not d.amend_reason for d in drafts):
            self.reason_error.setText("Say why you amend the signed assessment.")
            self.reason_error.setVisible(True)
            self.reason.setFocus()
            return
        self.sign_clicked.emit(drafts)
