"""An exam's row: its name, its status while read and after, its triage place (no Qt)."""

from __future__ import annotations

from app.exam_entries import RowStatus, WorklistRow, build_entry, triage_key
from core.exams import Exam, ExamId, ExamImage


def _exam(**identity: str) -> Exam:
    images = tuple(ExamImage(path=f"/in/{n}.dcm", laterality=side, view="CC")  # type: ignore[arg-type]
                   for n, side in enumerate(("R", "L")))
    return Exam(id=ExamId("1.2.3"), images=images, grouped_by="study_uid", **identity)


def _rows(*statuses: RowStatus) -> dict[str, WorklistRow]:
    return {f"/in/{n}.dcm": WorklistRow(path=f"/in/{n}.dcm", status=s, error=(
        "damaged" if s == RowStatus.ERROR else None)) for n, s in enumerate(statuses)}


def test_the_exam_is_named_by_its_patient_as_dicom_writes_the_name() -> None:
    rows = _rows(RowStatus.QUEUED, RowStatus.QUEUED)
    entry = build_entry(_exam(patient_name="DOE^Jane^Ann"), rows, opened=False, signed=False)
    assert entry.title == "DOE, Jane Ann"
    assert build_entry(_exam(), rows, opened=False, signed=False).title == "1.2.3"


def test_status_reads_progress_then_the_readers_state_with_what_failed() -> None:
    exam = _exam()
    assert build_entry(exam, _rows(RowStatus.DONE, RowStatus.RUNNING), opened=False,
                       signed=False).status_text == "reading 1/2"
    done = build_entry(exam, _rows(RowStatus.DONE, RowStatus.ERROR), opened=True, signed=False)
    assert done.status_text == "read · 1 not read"
    assert build_entry(exam, _rows(RowStatus.ERROR, RowStatus.CANCELLED), opened=False,
                       signed=False).status_text == "error"
    assert build_entry(exam, _rows(RowStatus.CANCELLED, RowStatus.CANCELLED), opened=False,
                       signed=True).status_text == "cancelled"


def test_a_failed_image_is_listed_last_and_an_exam_with_nothing_read_sorts_last() -> None:
    exam = _exam()
    rows = _rows(RowStatus.ERROR, RowStatus.NOT_SCORED)
    entry = build_entry(exam, rows, opened=False, signed=False)
    assert [r.path for r in entry.rows] == ["/in/1.dcm", "/in/0.dcm"]
    failed = build_entry(exam, _rows(RowStatus.ERROR, RowStatus.ERROR), opened=False,
                         signed=False)
    assert triage_key(entry, 5) < triage_key(failed, 0)
