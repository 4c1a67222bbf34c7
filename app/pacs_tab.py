"""The PACS tab: the PACS's studies for a date range, patient or accession; the chosen ones
retrieved (progress bar, cancel) and handed to the window to be read as exams; new MG studies
of the day pulled every N minutes when IT set ``pacs_auto_pull_minutes``; and results sent
back once the reader has signed.

PACS problems (unreachable, refused, a study cut short) are shown in the tab's status line and
the study's row, never as a storm of dialogs: the local reading goes on regardless.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import pacs_jobs
from app.theme import BANNER_STYLE
from app.worker import Job, JobPools, Worker
from core.errors import MammoError
from core.pacs import StudyQuery, StudySummary
from core.pacs.results import HeatmapSource
from core.pacs.workflow import PacsWorkflow
from core.store import ReadingRecord, UserId

log = logging.getLogger(__name__)

COLUMNS = ("Date", "Patient ID", "Patient", "Accession", "Description", "Images", "Status")
STATUS = COLUMNS.index("Status")
UID_ROLE = Qt.ItemDataRole.UserRole


class PacsTab(QWidget):
    """Emits ``studies_retrieved`` with the image files of each study that arrived (the window
    reads them as exams), ``results_sent`` with a :class:`pacs_jobs.Sent` per exam whose
    results went (or failed, or wait for the signature), ``retrieve_finished`` when a
    retrieve job ends."""

    studies_retrieved = Signal(list)
    results_sent = Signal(object)
    retrieve_finished = Signal()

    def __init__(self, *, flow: PacsWorkflow, pools: JobPools, user_id: UserId,
                 heatmaps: HeatmapSource, model_loaded: bool, auto_pull_minutes: int = 0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._flow = flow
        self._pools = pools
        self._user_id = user_id
        self._heatmaps = heatmaps
        self._model_loaded = model_loaded
        self._retrieving: Worker | None = None
        self._query: StudyQuery | None = None
        self._unread: dict[str, set[str]] = {}  # study -> its files not read yet
        self._build(auto_pull_minutes)
        self.pull_timer = QTimer(self)
        self.pull_timer.setInterval(max(auto_pull_minutes, 1) * 60_000)
        self.pull_timer.timeout.connect(self._on_pull_timer_timeout)
        if flow.configured and auto_pull_minutes > 0:
            self.pull_timer.start()

    # Construction -------------------------------------------------------------------------

    def _build(self, auto_pull_minutes: int) -> None:
        configured = self._flow.configured
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setVisible(not configured)
        self.banner.setText(
            "No PACS is configured: IT sets pacs_host and the AE titles (docs/pacs.md). "
            f"Results of signed exams are saved in {self._flow.results_root}.")
        today = QDate.currentDate()
        self.date_from = QDateEdit(today)
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.any_date = QCheckBox("Any date")
        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("Patient ID")
        self.accession = QLineEdit()
        self.accession.setPlaceholderText("Accession")
        self.search = QPushButton("Search")
        self.search.setDefault(True)
        query = QHBoxLayout()
        for widget in (QLabel("From"), self.date_from, QLabel("to"), self.date_to, self.any_date,
                       self.patient_id, self.accession, self.search):
            query.addWidget(widget)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            STATUS, QHeaderView.ResizeMode.Stretch)
        self.retrieve = QPushButton("Retrieve and read")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.send = QPushButton("Send results")
        self.send.setToolTip("Send the SR and captures of the chosen retrieved exams (only "
                             "once each breast is signed)")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        actions = QHBoxLayout()
        for widget in (self.retrieve, self.cancel, self.progress, self.send):
            actions.addWidget(widget)
        self.status = QLabel("Search the PACS for the day's mammograms." if configured
                             else "")
        self.status.setWordWrap(True)
        pull = (f"New MG studies of the day are pulled every {auto_pull_minutes} minutes."
                if configured and auto_pull_minutes > 0 else
                "Automatic pull is off (pacs_auto_pull_minutes).")
        self.pull_note = QLabel(pull)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(query)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(self.pull_note)
        for widget in (self.search, self.retrieve, self.date_from, self.date_to, self.any_date,
                       self.patient_id, self.accession):
            widget.setEnabled(configured)
        self.search.clicked.connect(self._on_search_clicked)
        self.retrieve.clicked.connect(self._on_retrieve_clicked)
        self.cancel.clicked.connect(self._on_cancel_clicked)
        self.send.clicked.connect(self._on_send_clicked)
        self.any_date.toggled.connect(self._on_any_date_toggled)

    # Query ---------------------------------------------------------------------------------

    def current_query(self) -> StudyQuery:
        dated = not self.any_date.isChecked()
        return StudyQuery(
            date_from=self.date_from.date().toPython() if dated else None,  # type: ignore[arg-type]
            date_to=self.date_to.date().toPython() if dated else None,  # type: ignore[arg-type]
            patient_id=self.patient_id.text().strip() or None,
            accession=self.accession.text().strip() or None)

    @Slot()
    def _on_search_clicked(self) -> None:
        self._query = self.current_query()
        self.search.setEnabled(False)
        self.status.setText("Searching the PACS…")
        worker = self._start(pacs_jobs.find_job(self._flow, self._query), self._on_found,
                             name="PACS query", on_error=self._on_query_failed)
        worker.signals.finished.connect(self._on_search_finished)

    @Slot(object)
    def _on_found(self, found: pacs_jobs.Found) -> None:
        if found.query is not self._query:
            return  # an older search answering late
        self.table.setRowCount(0)
        for study, retrieved in found.studies:
            self._add_row(study, "retrieved" if retrieved else "in the PACS")
        count = len(found.studies)
        self.status.setText(f"{count} stud{'y' if count == 1 else 'ies'} found.")

    @Slot()
    def _on_search_finished(self) -> None:
        self.search.setEnabled(self._flow.configured)

    @Slot(object)
    def _on_query_failed(self, error: BaseException) -> None:
        self.status.setText(_message(error))

    @Slot(bool)
    def _on_any_date_toggled(self, any_date: bool) -> None:
        self.date_from.setEnabled(not any_date)
        self.date_to.setEnabled(not any_date)

    def _add_row(self, study: StudySummary, status: str) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        images = "" if study.image_count is None else str(study.image_count)
        values = (study.study_date or "", study.patient_id or "", study.patient_name or "",
                  study.accession or "", study.description or "", images, status)
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setData(UID_ROLE, study.study_uid)
            self.table.setItem(row, column, item)

    def study_uids(self) -> list[str]:
        """The studies listed, top to bottom."""
        return [self.table.item(r, 0).data(UID_ROLE) for r in range(self.table.rowCount())]

    def status_of(self, study_uid: str) -> str | None:
        row = self._row_of(study_uid)
        return None if row is None else self.table.item(row, STATUS).text()

    def select_studies(self, study_uids: list[str]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for uid in study_uids:
            row = self._row_of(uid)
            if row is not None:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _selected(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [self.table.item(r, 0).data(UID_ROLE) for r in rows]

    def _row_of(self, study_uid: str) -> int | None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(UID_ROLE) == study_uid:
                return row
        return None

    def _set_status(self, study_uid: str, text: str) -> None:
        row = self._row_of(study_uid)
        if row is not None:
            self.table.item(row, STATUS).setText(text)
            self.table.item(row, STATUS).setToolTip(text)

    # Retrieve ------------------------------------------------------------------------------

    @property
    def retrieving(self) -> bool:
        return self._retrieving is not None

    @Slot()
    def _on_retrieve_clicked(self) -> None:
        chosen = self._selected()
        if not chosen:
            self.status.setText("Choose the studies to retrieve in the list.")
            return
        self._retrieve(pacs_jobs.retrieve_job(self._flow, chosen), len(chosen))

    @Slot()
    def _on_pull_timer_timeout(self) -> None:
        if self._retrieving is None:  # a pull never queues behind one already running
            self.pull_new_studies()

    def pull_new_studies(self) -> None:
        """Retrieve the day's MG studies not pulled yet (the automatic pull, also by hand)."""
        self._retrieve(pacs_jobs.new_studies_job(self._flow), None)

    def _retrieve(self, job: Job, count: int | None) -> None:
        if self._retrieving is not None:
            self.status.setText("A retrieve is running; wait for it or cancel it.")
            return
        worker = Worker(job, name="PACS retrieve")
        worker.signals.progress.connect(self._on_retrieve_progress)
        worker.signals.result.connect(self._on_retrieve_result)
        worker.signals.error.connect(self._on_query_failed)
        worker.signals.finished.connect(self._on_retrieve_finished)
        self._retrieving = worker
        self.retrieve.setEnabled(False)
        self.cancel.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Retrieving…" if count is None else
                            f"Retrieving {count} stud{'y' if count == 1 else 'ies'}…")
        self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_retrieve_progress(self, item: object) -> None:
        if isinstance(item, pacs_jobs.StudyProgress):
            total = max(item.total, 1)
            self.progress.setRange(0, 1000 * item.count)
            self.progress.setValue(1000 * item.index + 1000 * item.done // total)
            self._set_status(item.study_uid, f"retrieving {item.done}/{item.total}")
        elif isinstance(item, pacs_jobs.StudyRetrieved):
            self._set_status(item.study_uid, "retrieved; reading")
            self._unread[item.study_uid] = set(item.files)
            self.studies_retrieved.emit(item.files)
        elif isinstance(item, pacs_jobs.StudyFailed):
            self._set_status(item.study_uid, f"failed: {item.message}")
            self.status.setText(item.message)

    @Slot(object)
    def _on_retrieve_result(self, whole: int) -> None:
        self.status.setText(f"{whole} stud{'y' if whole == 1 else 'ies'} retrieved.")

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self._retrieving is not None:
            self._retrieving.cancel()
            self.cancel.setEnabled(False)
            self.status.setText("Cancelling the retrieve; the images already here are kept.")

    @Slot()
    def _on_retrieve_finished(self) -> None:
        cancelled = self._retrieving is not None and self._retrieving.cancelled
        self._retrieving = None
        self.retrieve.setEnabled(self._flow.configured)
        self.cancel.setEnabled(False)
        self.progress.setVisible(False)
        if cancelled:
            self.status.setText("Retrieve cancelled; the images already here are kept and "
                                "retrieving again fetches the rest.")
        self.retrieve_finished.emit()

    # Reading and results -------------------------------------------------------------------

    def study_of(self, path: str) -> str | None:
        """The retrieved study a file belongs to (None: not from the PACS)."""
        file = Path(path).absolute()
        try:
            file.relative_to(self._flow.inbox.root.absolute())
        except ValueError:
            return None
        return file.parent.name

    @Slot(str, bool)
    def note_file_read(self, path: str, scored: bool) -> None:
        """A file was read: once all of a retrieved study's are, its row says so and, with
        automatic sending, its results go."""
        study = self.study_of(path)
        unread = self._unread.get(study or "")
        if study is None or unread is None:
            return
        unread.discard(path)
        if not scored:
            self._set_status(study, "retrieved; not read (no model or an error)")
        if unread:
            return
        del self._unread[study]
        self._set_status(study, "read")
        if self._flow.auto_send:
            self.send_results(study, automatic=True)

    @Slot(object)
    def note_reading_signed(self, reading: ReadingRecord) -> None:
        """A decision was signed on a view: its exam's results go once all its breasts are."""
        study = self.study_of(reading.source_path)
        if study is not None:
            self.send_results(study, automatic=False)

    @Slot(str)
    def note_exam_signed(self, exam_id: str) -> None:
        """A breast of an exam was signed: its results go once all its breasts are."""
        if self._flow.is_retrieved(exam_id):
            self.send_results(exam_id, automatic=False)

    @Slot()
    def _on_send_clicked(self) -> None:
        chosen = [uid for uid in self._selected() if self._flow.is_retrieved(uid)]
        if not chosen:
            self.status.setText("Choose retrieved, signed exams in the list to send.")
        for uid in chosen:
            self.send_results(uid, automatic=False)

    def send_results(self, exam_id: str, *, automatic: bool) -> None:
        """Write and send one exam's results on a worker (the model's pool when the heatmaps
        are made again, so that it never competes with a batch being read)."""
        self._set_status(exam_id, "results: preparing")
        job = pacs_jobs.export_job(self._flow, exam_id, user_id=self._user_id,
                                   heatmaps=self._heatmaps, automatic=automatic)
        self._start(job, self._on_sent, name="PACS send", inference=self._model_loaded,
                    on_error=self._on_send_crashed)

    @Slot(object)
    def _on_sent(self, sent: pacs_jobs.Sent) -> None:
        self._set_status(sent.exam_id, f"results{'' if sent.sent else ' not sent'}: "
                                       f"{sent.message}")
        self.status.setText(sent.message)
        self.results_sent.emit(sent)

    @Slot(object)
    def _on_send_crashed(self, error: BaseException) -> None:
        self.status.setText(_message(error))  # a defect: the job answers every PACS problem

    def stop(self) -> None:
        """Stop the automatic pull and cancel a retrieve (the window is closing)."""
        self.pull_timer.stop()
        if self._retrieving is not None:
            self._retrieving.cancel()

    def _start(self, job: Job, on_result: object, *, name: str, on_error: object,
               inference: bool = False) -> Worker:
        worker = Worker(job, name=name)
        worker.signals.result.connect(on_result)
        worker.signals.error.connect(on_error)
        pool = self._pools.inference if inference else self._pools.io
        return self._pools.start(worker, pool=pool)


def _message(error: BaseException) -> str:
    if isinstance(error, MammoError):
        return error.message
    log.error("PACS job failed", exc_info=error)
    return "Something unexpected went wrong with the PACS; the log has the details."
