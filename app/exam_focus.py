"""What the reader looks at: the exam chosen in the worklist, hung in the viewer, and its
active image; the result panel, the decision on the view and the per-breast assessment follow.

The first image read in a batch opens its exam when nothing is open yet; an exam shown is
brought up to date as its images are read or it regroups; an exam the reader opens by hand
with images of unknown side or view asks about them once.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from app import jobs
from app.assessment_controller import AssessmentController
from app.decision_controller import DecisionController
from app.exam_controller import ExamController
from app.hanging_controller import HangingController
from app.reading_tab import ReadingTab
from app.result_panel import NO_MODEL_TEXT, result_for, status_of
from app.worklist_model import same_entry
from core.exams import ExamId
from core.inference.classifier import ModelInfo


class ExamFocus(QObject):
    def __init__(self, tab: ReadingTab, *, hanging: HangingController,
                 decisions: DecisionController, assessments: AssessmentController,
                 exams: ExamController, info: ModelInfo | None, scored: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tab = tab
        self._hanging = hanging
        self._decisions = decisions
        self._assessments = assessments
        self._exams = exams
        self._info = info
        self._scored = scored
        self._select_when_listed: str | None = None  # the first image read, until listed
        self._decided: tuple[str, str] | None = None  # (path, reading id) the panel shows
        tab.worklist.exam_selected.connect(self._on_exam_selected)
        tab.worklist_model.entries_changed.connect(self._on_entries_changed)
        tab.controls.hanging.active_changed.connect(self._on_active_changed)
        assessments.model_visibility_changed.connect(self._on_active_changed)

    def use_model(self, info: ModelInfo) -> None:
        """A new model version is in use (from the server): results name it."""
        self._info = info
        self.update()

    @Slot(object)
    def on_classified(self, item: jobs.FileDone) -> None:
        """A file was read: the first one opens its exam when none is open."""
        if self._select_when_listed is None and item.error is None \
                and self._tab.worklist.current_entry() is None:
            self._select_when_listed = item.path  # shown once the worklist lists it

    @Slot()
    def _on_entries_changed(self) -> None:
        worklist = self._tab.worklist
        if self._select_when_listed is not None:
            entry = self._tab.worklist_model.entry_of(self._select_when_listed)
            self._select_when_listed = None
            if entry is not None and worklist.current_entry() is None:
                worklist.select_exam(entry.id)
        entry = worklist.current_entry()
        if entry is not None and self._hanging.entry is not None \
                and not same_entry(entry, self._hanging.entry):
            self._hanging.show_exam(entry)
            self.update()

    @Slot(object, object, bool)
    def _on_exam_selected(self, exam_id: ExamId, focus: str | None, by_user: bool) -> None:
        self._hanging.show_exam(self._tab.worklist_model.entry(exam_id), focus=focus)
        self._tab.worklist_model.mark_opened(exam_id)
        self.update()
        if by_user:
            self._exams.ask_unknown_sides(exam_id)

    @Slot(object)
    def _on_active_changed(self, _change: object) -> None:
        self.update()

    def update(self) -> None:
        """The result panel and the decisions follow the exam shown and its active image."""
        entry, path = self._hanging.entry, self._tab.controls.hanging.active_path
        row = entry.row(path) if entry is not None and path is not None else None
        panel = self._tab.result_panel
        self._assessments.show_entry(entry)
        if not self._scored and (entry is None or all(r.reading is None for r in entry.rows)):
            panel.show_exam(None, status=NO_MODEL_TEXT)
        elif self._assessments.hidden_text:  # blinded first read, or read without the model
            panel.show_exam(None, status=self._assessments.hidden_text)
        else:
            panel.show_exam(entry, active=path, status=status_of(entry, row),
                            focus=result_for(row, self._info) if row else None)
        decided = (path, row.reading.id) if row is not None and row.reading else None
        if decided != self._decided or decided is None:
            self._decided = decided
            self._decisions.show_row(row)
