"""Plain factory functions for the exam tests: real files, opened as the product opens them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from core.errors import ImageDecodeError
from core.exams import Exam, ExamId, ExamImage, ImageFile
from core.imaging import open_image
from tests.core.imaging import factories as imaging
from tests.core.imaging.factories import LIMITS


def write_study_image(path: Path, *, study_uid: str | None, patient_id: str | None = "P-1",
                      laterality: str | None = "L", view: str | None = "CC",
                      view_code: tuple[str, str] | None = None, **tags: str) -> Path:
    """A small digital mammogram of one study; ``view_code`` (value, meaning) adds a
    ViewCodeSequence item; ``tags`` sets further DICOM keywords (AccessionNumber, ...)."""
    ds = imaging.mammo_dataset(imaging.gradient(maximum=4095).astype(np.uint16))
    for keyword, value in (("StudyInstanceUID", study_uid), ("PatientID", patient_id),
                           ("ImageLaterality", laterality), ("ViewPosition", view)):
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    if view_code is not None:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = (
            view_code[0], "SCT", view_code[1])
        ds.ViewCodeSequence = [item]
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    return imaging.write_dicom(path, ds)


def write_plain_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return imaging.write_png(path, imaging.gradient())


def opened(*paths: Path) -> list[ImageFile]:
    """Each file with the metadata opening it gives (None for a file that fails to open)."""
    files = []
    for path in paths:
        try:
            meta = open_image(path, **LIMITS).meta
        except ImageDecodeError:
            meta = None
        files.append(ImageFile(path=path, meta=meta))
    return files


def exam(exam_id: str, *views: tuple[str, str, str], patient_id: str | None = None) -> Exam:
    """An exam of ``(path, laterality, view)`` images."""
    return Exam(id=ExamId(exam_id), grouped_by="folder", patient_id=patient_id,
                images=tuple(ExamImage(path=p, laterality=side, view=view)  # type: ignore[arg-type]
                             for p, side, view in views))
