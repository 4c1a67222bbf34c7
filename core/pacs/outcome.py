"""What goes back to the PACS for one exam: the model's readings of its views, folded into
breasts, and the reader's signed assessment of each breast.

The reader's assessment is the per-breast assessment signed in the exam (BI-RADS, density,
verdict on the model); where a breast has none, the decision signed on one of its views'
readings stands in (older readings). An exam is *signed* when every breast that has images
has one or the other: only then do its results leave the workstation, unless IT enabled
automatic sending.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from core.errors import ImageDecodeError, PacsError, PacsErrorKind
from core.exams import ImageFile, group_exams, score_exam
from core.imaging import MammoImage, open_image
from core.store import AssessmentRecord, ReadingRecord, Store, UserId

SIDES = ("R", "L")


@dataclass(frozen=True)
class ViewOutcome:
    """One source image and the model's reading of it.

    ``header`` is the image's DICOM header without its pixels: what the report references.
    """

    path: Path
    header: Dataset
    laterality: str
    view: str
    reading: ReadingRecord

    @property
    def sop_instance_uid(self) -> str:
        return str(self.header.SOPInstanceUID)

    @property
    def peak(self) -> tuple[float, float] | None:
        r = self.reading
        if r.heatmap_peak_x is None or r.heatmap_peak_y is None:
            return None
        return (r.heatmap_peak_x, r.heatmap_peak_y)


@dataclass(frozen=True)
class ReaderAssessment:
    """The reader's signed opinion of one breast. ``birads`` as the category's text (``4A``),
    None when the decision gave none; ``source`` is ``breast`` (a per-breast assessment) or
    ``view`` (a decision on one view's reading)."""

    birads: str | None
    density: str | None
    agrees_with_model: bool | None
    note: str
    username: str
    signed_at: datetime
    source: str
    record_id: str


@dataclass(frozen=True)
class BreastOutcome:
    side: str
    score: float | None
    label: str | None
    views: tuple[ViewOutcome, ...]
    assessment: ReaderAssessment | None


@dataclass(frozen=True)
class ExamOutcome:
    """One exam's results, ready to be written as DICOM objects."""

    exam_id: str
    study_uid: str
    views: tuple[ViewOutcome, ...]
    breasts: dict[str, BreastOutcome]
    threshold: float
    model_id: str
    model_sha256: str
    reader: str
    reader_name: str

    @property
    def signed(self) -> bool:
        """Every breast with images carries the reader's signed assessment."""
        shown = [b for b in self.breasts.values() if b.views]
        return bool(shown) and all(b.assessment is not None for b in shown)

    @property
    def key(self) -> str:
        """Names this exact content (readings and assessments): signing an amendment makes a
        new one, so a report is written once per version and re-sent unchanged."""
        parts = sorted(v.reading.id for v in self.views)
        parts += sorted(f"{b.side}:{b.assessment.record_id}" for b in self.breasts.values()
                        if b.assessment is not None)
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def collect_outcome(files: Sequence[Path], *, store: Store, user_id: UserId,
                    max_file_bytes: int, max_pixels: int) -> ExamOutcome:
    """The results of the exam made of ``files`` (DICOM images of one study), from this
    reader's readings and assessments in the store.

    Raises
    ------
    PacsError
        The files are not one DICOM exam, or none of its images was read by this reader's
        model, or its views were read by different models.
    """
    images: list[tuple[Path, MammoImage, Dataset]] = []
    for path in files:
        try:
            image = open_image(path, max_file_bytes=max_file_bytes, max_pixels=max_pixels)
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except (ImageDecodeError, InvalidDicomError, OSError):
            continue  # a file that is not an image of the exam (a report, a damaged file)
        if "SOPInstanceUID" in header and "StudyInstanceUID" in header:
            images.append((Path(path), image, header))
    studies = {str(h.StudyInstanceUID) for _, _, h in images}
    if len(studies) != 1:
        raise _not_sendable("its images are not one DICOM study" if studies
                            else "it has no DICOM image")
    readings = store.latest_readings_of([i.meta.pixel_sha256 for _, i, _ in images],
                                        user_id=user_id)
    scored = [(p, i, h) for p, i, h in images if i.meta.pixel_sha256 in readings]
    if not scored:
        raise _not_sendable("none of its images has been read by the model")
    models = {(readings[i.meta.pixel_sha256].model_id, readings[i.meta.pixel_sha256]
               .model_sha256) for _, i, _ in scored}
    if len(models) > 1:
        raise _not_sendable("its views were read by different models; read it again")
    [(model_id, model_sha256)] = models
    [exam] = group_exams([ImageFile(str(p), i.meta) for p, i, _ in scored])
    views = []
    for path, image, header in scored:
        entry = exam.image(str(path))
        assert entry is not None  # grouped from these very files
        views.append(ViewOutcome(path=path, header=header, laterality=entry.laterality,
                                 view=entry.view, reading=readings[image.meta.pixel_sha256]))
    threshold = views[0].reading.threshold
    result = score_exam(exam, {str(v.path): v.reading.score for v in views},
                        threshold=threshold)
    breast_assessments = store.assessments.latest(exam.id, user_id=user_id)
    breasts = {}
    for side in SIDES:
        mine = tuple(v for v in views if v.laterality == side)
        breast = result.breasts.get(side)  # type: ignore[call-overload]
        breasts[side] = BreastOutcome(
            side=side, score=breast.score if breast else None,
            label=breast.label if breast else None, views=mine,
            assessment=_assessment(breast_assessments.get(side), mine))  # type: ignore[call-overload]
    user = store.get_user(user_id)
    return ExamOutcome(exam_id=exam.id, study_uid=str(scored[0][2].StudyInstanceUID),
                       views=tuple(views), breasts=breasts, threshold=threshold,
                       model_id=model_id, model_sha256=model_sha256,
                       reader=user.username if user else "",
                       reader_name=user.display_name if user else "")


def _assessment(record: AssessmentRecord | None, views: Sequence[ViewOutcome]
                ) -> ReaderAssessment | None:
    if record is not None:
        return ReaderAssessment(
            birads=record.birads, density=record.density,
            agrees_with_model=record.agrees_with_model, note=record.note,
            username=record.username, signed_at=record.signed_at, source="breast",
            record_id=str(record.id))
    decided = [v.reading for v in views if v.reading.feedback is not None]
    if not decided:
        return None
    latest = max(decided, key=lambda r: r.feedback.signed_at)  # type: ignore[union-attr]
    feedback = latest.feedback
    assert feedback is not None
    return ReaderAssessment(
        birads=None if feedback.birads is None else str(feedback.birads), density=None,
        agrees_with_model=feedback.agrees_with_model, note=feedback.note,
        username=latest.username, signed_at=feedback.signed_at, source="view",
        record_id=str(feedback.id))


def _not_sendable(why: str) -> PacsError:
    return PacsError(f"This exam's results cannot be made: {why}.",
                     kind=PacsErrorKind.REFUSED, transient=False)
