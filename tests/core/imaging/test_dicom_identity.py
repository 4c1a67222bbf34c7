"""A DICOM mammogram says whose it is, which exam it belongs to, and which breast and view it
shows: what grouping images into exams needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from core.imaging import open_image
from tests.core.imaging import factories
from tests.core.imaging.factories import LIMITS


def _dataset() -> Dataset:
    return factories.mammo_dataset(factories.gradient(maximum=4095).astype(np.uint16))


def _view_code(value: str, meaning: str, scheme: str = "SCT") -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def test_exam_identity_is_read(tmp_path: Path) -> None:
    ds = _dataset()
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.PatientID, ds.PatientName = "P-0042", "Doe^Jane"
    ds.PatientBirthDate, ds.StudyDate = "19610307", "20240115"
    ds.AccessionNumber, ds.Manufacturer = "ACC-77", "HOLOGIC, Inc."

    meta = open_image(factories.write_dicom(tmp_path / "a.dcm", ds), **LIMITS).meta

    assert meta.study_instance_uid == "1.2.826.0.1.3680043.8.498.1"
    assert (meta.patient_id, meta.patient_name) == ("P-0042", "Doe^Jane")
    assert (meta.birth_date, meta.study_date) == ("1961-03-07", "2024-01-15")
    assert (meta.accession_number, meta.manufacturer) == ("ACC-77", "HOLOGIC, Inc.")


def test_missing_identity_is_none_and_a_malformed_date_is_kept_as_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Old exports write such dates; pydicom warns when told to write one, so it is told not to.
    monkeypatch.setattr(pydicom.config.settings, "writing_validation_mode", pydicom.config.IGNORE)
    monkeypatch.setattr(pydicom.config.settings, "reading_validation_mode", pydicom.config.IGNORE)
    ds = _dataset()
    ds.StudyDate = "20241315"

    meta = open_image(factories.write_dicom(tmp_path / "a.dcm", ds), **LIMITS).meta

    assert meta.study_date == "20241315"
    assert meta.study_instance_uid is None and meta.patient_id is None
    assert meta.accession_number is None and meta.birth_date is None


def test_view_comes_from_the_view_code_when_view_position_is_missing(tmp_path: Path) -> None:
    by_sct = _dataset()
    del by_sct.ViewPosition
    by_sct.ViewCodeSequence = [_view_code("399162004", "cranio-caudal")]
    by_srt = _dataset()
    by_srt.ViewPosition = ""
    by_srt.ViewCodeSequence = [_view_code("R-10226", "medio-lateral oblique", scheme="SRT")]
    by_meaning = _dataset()
    del by_meaning.ViewPosition
    by_meaning.ViewCodeSequence = [_view_code("99LOCAL", "Medio-Lateral Oblique", "99X")]

    views = [open_image(factories.write_dicom(tmp_path / f"{i}.dcm", ds), **LIMITS)
             .meta.view_position for i, ds in enumerate((by_sct, by_srt, by_meaning))]

    assert views == ["CC", "MLO", "MLO"]


def test_view_position_wins_over_the_view_code(tmp_path: Path) -> None:
    ds = _dataset()
    ds.ViewPosition = "CC"
    ds.ViewCodeSequence = [_view_code("399368009", "medio-lateral oblique")]

    meta = open_image(factories.write_dicom(tmp_path / "a.dcm", ds), **LIMITS).meta

    assert meta.view_position == "CC"


def test_an_unknown_view_code_gives_no_view(tmp_path: Path) -> None:
    ds = _dataset()
    del ds.ViewPosition
    ds.ViewCodeSequence = [_view_code("12345", "something else")]

    meta = open_image(factories.write_dicom(tmp_path / "a.dcm", ds), **LIMITS).meta

    assert meta.view_position is None
