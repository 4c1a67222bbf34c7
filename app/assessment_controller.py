"""The reader's per-breast decision on the exam shown: loading and signing assessments, the
blinded first read, finding marks placed on the viewers, and the exam's PDF report.

It owns its jobs and signals; the window only composes it: it calls :meth:`show_entry` (or
:meth:`show_exam`) when another exam is shown and attaches the viewers that show its views
(:meth:`attach_hanging`), whose heatmap and peak the controller hides while the model's
output is not to be seen; the window hides the scores it shows itself while
``model_visible`` is False (``model_visibility_changed``).

Reading never depends on the model: without one (none installed, nothing scored, or "Read
without model" chosen) the breasts are assessed all the same, signed as read without it.
With the blinded first read (``Settings.blinded_first_read``) the model's output stays hidden
until the reader has signed each breast the exam shows; then it is shown and the reader may
amend, and both assessments are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.assessment_jobs import (
    Assessments,
    ReportRequest,
    export_report_job,
    load_assessments_job,
    sign_assessments_job,
)
from app.breast_decision_panel import BreastDecisionPanel, BreastModel
from app.errors import show_error
from app.exam_entries import ExamEntry
from app.hanging_viewer import HangingViewer
from app.score_text import score_text, threshold_text
from app.viewer import ImageViewer
from app.worker import JobPools, Worker
from core.assessment import consistency_question, model_revealed, reading_mode
from core.exams import Exam, ExamResult
from core.inference.classifier import Prediction
from core.report import ReportLimits, ReportModel
from core.store import (
    BREAST_SIDES,
    AssessmentRecord,
    BreastSide,
    FindingMark,
    ModelOpinion,
    NewAssessment,
    Store,
    UserRecord,
)

MARK_HIT_PX = 14  # a click this close (on screen) to a mark removes it
PathOf = Callable[[], str | None]


@dataclass(frozen=True)
class ExamShown:
    exam: Exam
    result: ExamResult | None
    model_id: str | None
    predictions: Mapping[str, Prediction]


class AssessmentController(QObject):
    """Emits ``model_visibility_changed`` (may the model's score and heatmap of the exam
    shown be shown), ``assessments_signed`` (the records signed), ``report_exported`` (the
    PDF's path)."""

    model_visibility_changed = Signal(bool)
    assessments_signed = Signal(object)
    report_exported = Signal(object)

    def __init__(self, panel: BreastDecisionPanel, *, store: Store, user: UserRecord,
                 pools: JobPools, blinded: bool, limits: ReportLimits,
                 model_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._panel = panel
        self._store = store
        self._user = user
        self._pools = pools
        self._blinded = blinded
        self._limits = limits
        self._model_id = model_id  # the installed model's, for scores of this session
        self._window = parent
        self._shown: ExamShown | None = None
        self._history: list[AssessmentRecord] | None = None
        self._visible = False
        self._hidden_text = ""
        self._load_job: Worker | None = None
        self._marking = False
        self._viewers: list[tuple[ImageViewer, PathOf]] = []
        self.mark_action = QAction("Place &mark", self)
        self.mark_action.setCheckable(True)
        self.mark_action.setShortcut(QKeySequence("M"))
        self.export_action = QAction("Export &report…", self)
        self.export_action.setEnabled(False)
        self.mark_action.toggled.connect(panel.place_mark.setChecked)
        panel.marking_toggled.connect(self._on_marking_toggled)
        panel.without_model_toggled.connect(self._on_without_model_toggled)
        panel.marks_edited.connect(self.refresh_marks)
        panel.sign_clicked.connect(self._on_sign_clicked)
        self.export_action.triggered.connect(self._on_export_triggered)

    # The exam shown -----------------------------------------------------------------------

    @property
    def model_visible(self) -> bool:
        """Whether the model's score and heatmap of the exam shown may be shown."""
        return self._visible

    @property
    def hidden_text(self) -> str:
        """Why the exam's model output is hidden although there is some ("" when it is not)."""
        return self._hidden_text

    @property
    def exam(self) -> Exam | None:
        return None if self._shown is None else self._shown.exam

    def use_model(self, model_id: str) -> None:
        """A new model version is in use (from the server) for this session's scores."""
        self._model_id = model_id

    def show_entry(self, entry: ExamEntry | None) -> None:
        """Assess the worklist's exam ``entry`` (None: nothing), with its scores and this
        session's model outputs."""
        if entry is None:
            self.show_exam(None)
            return
        stored = next((r.reading.model_id for r in entry.rows if r.reading is not None), None)
        self.show_exam(entry.exam, result=entry.result, model_id=stored or self._model_id,
                       predictions={r.path: r.prediction for r in entry.rows
                                    if r.prediction is not None})

    def show_exam(self, exam: Exam | None, *, result: ExamResult | None = None,
                  model_id: str | None = None,
                  predictions: Mapping[str, Prediction] | None = None) -> None:
        """Assess ``exam`` (None: nothing). ``result`` holds its scores (None: not scored),
        ``predictions`` this session's model outputs by path (for the report's heatmaps)."""
        same = (self._shown is not None and exam is not None
                and self._shown.exam.id == exam.id)
        self._shown = None if exam is None else ExamShown(exam, result, model_id,
                                                          dict(predictions or {}))
        self.export_action.setEnabled(exam is not None)
        if same and self._history is not None:
            self._update_model()  # new scores for the exam shown: keep what is typed
            return
        if self._load_job is not None:
            self._load_job.cancel()
        self._history = None
        if exam is None:
            self._panel.set_exam(None, user_id=None, history=[],
                                 message="Select an exam to assess it.")
            self._update_model()
            return
        self._panel.set_exam(exam.id, user_id=self._user.id, history=None)
        self._update_model()
        self._load_job = self._start(load_assessments_job(self._store, exam.id,
                                                          user_id=self._user.id),
                                     self._on_assessments_loaded, name="assessments")

    @Slot(object)
    def _on_assessments_loaded(self, loaded: Assessments) -> None:
        if self._shown is not None and self._shown.exam.id == loaded.exam_id:
            self._show_history(loaded.history)

    def _show_history(self, history: list[AssessmentRecord]) -> None:
        assert self._shown is not None
        self._history = history
        self._panel.set_exam(self._shown.exam.id, user_id=self._user.id, history=history)
        self._update_model()

    def _update_model(self) -> None:
        shown = self._shown
        without = self._panel.without_model.isChecked()
        assessed = {r.side for r in self._history or []}
        # While the history loads, a blinded exam stays hidden: it may not be signed yet.
        revealed = shown is not None and (not self._blinded or (
            self._history is not None and model_revealed(
                blinded=True, sides_shown=[i.laterality for i in shown.exam.images],
                assessed=assessed)))
        result = shown.result if shown is not None else None
        has_output = result is not None and result.score is not None
        breasts = {side: self._breast_model(side, revealed=revealed, without=without)
                   for side in BREAST_SIDES}
        self._panel.set_model(breasts, status=self._status(has_output, revealed, without))
        visible = has_output and revealed and not without
        self._hidden_text = "" if visible or not has_output else (
            "Read without the model: its output is hidden." if without else
            "Blinded first read: the model's output is shown once you have signed each breast.")
        for viewer, _path_of in self._viewers:
            viewer.set_model_hidden(not visible)
        if visible != self._visible:
            self._visible = visible
            self.model_visibility_changed.emit(visible)

    def _breast_model(self, side: BreastSide, *, revealed: bool, without: bool) -> BreastModel:
        shown = self._shown
        breast = None
        if shown is not None and shown.result is not None:
            breast = shown.result.breasts.get(side)
        scored = breast is not None and breast.score is not None and breast.label is not None
        mode = reading_mode(model_output=scored, without_model=without, revealed=revealed)
        if not scored or shown is None or breast is None:
            no_model = shown is None or shown.model_id is None
            return BreastModel("no model installed" if no_model else "no scored view", None,
                               mode)
        if mode == "without_model":
            return BreastModel("read without model", None, mode)
        if mode == "blinded":
            return BreastModel("hidden (blinded read)", None, mode)
        assert shown.result is not None and breast.score is not None
        threshold = shown.result.threshold
        opinion = ModelOpinion(model_id=shown.model_id or "unknown model", score=breast.score,
                               label=breast.label, threshold=threshold)  # type: ignore[arg-type]
        shown_score = score_text(score=breast.score, threshold=threshold,
                                 positive=breast.label == "Positive")
        text = f"{shown_score} {breast.label}"
        return BreastModel(text, opinion, mode,
                           f"threshold {threshold_text(threshold)}: Positive at or above")

    def _status(self, has_output: bool, revealed: bool, without: bool) -> str:
        if self._shown is None:
            return ""
        if self._shown.model_id is None and not has_output:
            return "No model installed: the breasts are assessed without one."
        if without:
            return "Reading without the model: its score and heatmap are hidden."
        if has_output and self._blinded and not revealed:
            return ("Blinded first read: the model's score and heatmap are shown once you "
                    "have signed each breast.")
        if has_output and self._blinded:
            return ("The model's output is shown. Amend if it changes your assessment; the "
                    "first read is kept.")
        return ""

    @Slot(bool)
    def _on_without_model_toggled(self, _checked: bool) -> None:
        self._update_model()

    # Signing ------------------------------------------------------------------------------

    @Slot(object)
    def _on_sign_clicked(self, drafts: list[NewAssessment]) -> None:
        questions = [q for d in drafts if (q := consistency_question(d)) is not None]
        if not questions:
            self._sign(drafts)
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Check the assessment",
                          "\n\n".join(questions), parent=self._window)
        box.setObjectName("consistency_question")
        sign = box.addButton("Sign as it is", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Go back", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(QMessageBox.StandardButton.NoButton)
        box.finished.connect(lambda _result: self._sign(drafts) if box.clickedButton() is sign
                             else None)
        box.open()

    def _sign(self, drafts: list[NewAssessment]) -> None:
        if self._shown is None:
            return
        self._panel.set_busy(True)
        self._start(sign_assessments_job(self._store, drafts, exam_id=self._shown.exam.id,
                                         user_id=self._user.id),
                    self._on_assessments_signed, name="sign assessments",
                    on_error=self._on_sign_failed)

    @Slot(object)
    def _on_assessments_signed(self, signed: Assessments) -> None:
        if self._shown is not None and self._shown.exam.id == signed.exam_id:
            self._show_history(signed.history)
        self.assessments_signed.emit(signed.signed)

    @Slot(object)
    def _on_sign_failed(self, error: BaseException) -> None:
        self._panel.set_busy(False)
        if self._shown is not None:  # reload: it may have been amended meanwhile
            self._history = None
            self.show_exam(self._shown.exam, result=self._shown.result,
                           model_id=self._shown.model_id, predictions=self._shown.predictions)
        show_error(self._window, error)

    # Finding marks ------------------------------------------------------------------------

    def attach_viewer(self, viewer: ImageViewer, path_of: PathOf) -> None:
        """Draw the exam's marks on ``viewer`` and place marks by clicking on it; ``path_of``
        tells which image it shows (None: none)."""
        self._viewers.append((viewer, path_of))
        viewer.set_model_hidden(not self._visible)
        viewer.clicked_at.connect(lambda x, y: self._on_viewer_clicked(viewer, path_of, x, y))
        viewer.image_changed.connect(self.refresh_marks)

    def attach_hanging(self, hanging: HangingViewer) -> None:
        """Attach every viewer of the hanging (its cells and its single view)."""
        for viewer in hanging.viewers():
            self.attach_viewer(viewer, lambda v=viewer: hanging.shown_path(v))

    @Slot()
    def refresh_marks(self) -> None:
        """Redraw the marks on every attached viewer (call after a viewer changes image)."""
        for viewer, path_of in self._viewers:
            path = path_of()
            viewer.set_marks([(m.x, m.y) for m in self._marks() if m.image_path == path])

    def _marks(self) -> list[FindingMark]:
        return [m for form in self._panel.forms.values() for m in form.marks]

    @Slot(bool)
    def _on_marking_toggled(self, on: bool) -> None:
        self._marking = on
        self.mark_action.setChecked(on)

    def _on_viewer_clicked(self, viewer: ImageViewer, path_of: PathOf, x: float, y: float
                           ) -> None:
        path = path_of()
        image = None if self._shown is None or path is None else self._shown.exam.image(path)
        if not self._marking or image is None or self._panel.exam_id is None:
            return
        if image.laterality not in BREAST_SIDES:
            self._panel.signed.setText("Say which breast this view shows before marking on it.")
            return
        form = self._panel.forms[image.laterality]  # type: ignore[index]
        reach = MARK_HIT_PX / max(viewer.zoom, 1e-6)  # screen pixels -> file pixels
        near = [m for m in form.marks if m.image_path == path
                and math.hypot(m.x - x, m.y - y) <= reach]
        if near:
            form.remove_mark(near[0])
        else:
            form.add_mark(FindingMark(image_path=path, x=round(x, 1), y=round(y, 1)))

    # Report -------------------------------------------------------------------------------

    def export_report(self, path: Path) -> None:
        """Write the exam's one-page PDF report to ``path`` (``report_exported`` when done)."""
        shown = self._shown
        if shown is None:
            return
        model = None
        if self._visible and shown.result is not None:
            model = ReportModel(model_id=shown.model_id or "unknown model",
                                threshold=shown.result.threshold, result=shown.result)
        request = ReportRequest(
            exam=shown.exam, user_id=self._user.id,
            reader=f"{self._user.display_name} ({self._user.username})", model=model,
            model_status=self._report_status(), predictions=shown.predictions,
            limits=self._limits)
        self._start(export_report_job(self._store, request, Path(path)),
                    self.report_exported.emit, name="export report")

    def _report_status(self) -> str:
        shown = self._shown
        if shown is None or shown.model_id is None:
            return "No model installed: read without model"
        if self._panel.without_model.isChecked():
            return "Read without model"
        if shown.result is None or shown.result.score is None:
            return "No view of this exam was scored"
        return "Model output withheld: the blinded first read is not signed yet"

    @Slot()
    def _on_export_triggered(self) -> None:
        if self._shown is None:
            return
        exam = self._shown.exam
        name = "".join(c if c.isalnum() or c in "-_." else "_"
                       for c in (exam.patient_id or Path(exam.id).name or "exam"))
        path, _ = QFileDialog.getSaveFileName(self._window, "Export the exam's report",
                                              f"{name}-report.pdf", "PDF (*.pdf)")
        if path:
            self.export_report(Path(path))

    # Jobs ---------------------------------------------------------------------------------

    def _start(self, job: object, on_result: object, *, name: str,
               on_error: object = None) -> Worker:
        worker = Worker(job, name=name)  # type: ignore[arg-type]
        worker.signals.result.connect(on_result)
        worker.signals.error.connect(on_error or self._on_job_failed)
        return self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_job_failed(self, error: BaseException) -> None:
        show_error(self._window, error)
