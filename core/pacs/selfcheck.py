"""The PACS line of ``--self-test``: the DICOM networking and report libraries load, with
their data files (a packaged build must carry highdicom's), and a report can be made."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from core.pacs.config import PacsConfig
from core.settings import Settings


def check_pacs_support(settings: Settings | None) -> str:
    """Build a report for a made-up image in memory; say which PACS is configured.

    Raises whatever the libraries raise when something is missing (the self-test reports it).
    """
    import highdicom
    import pynetdicom

    from core.pacs.outcome import BreastOutcome, ExamOutcome, ViewOutcome
    from core.pacs.report import build_report
    from core.store import ReadingId, ReadingRecord
    from core.store.records import ImageId, UserId

    header = _header()
    reading = ReadingRecord(
        id=ReadingId("self-test"), image_id=ImageId(1), user_id=UserId(1), score=0.5,
        label="Positive", threshold=0.5, model_id="self-test", model_sha256="0" * 64,
        engine="none", device="cpu", preprocessing_version="-", app_version="-",
        heatmap_peak_x=1.0, heatmap_peak_y=1.0, created_at=datetime.now(UTC),
        sync_state="pending", source_path="self-test.dcm", pixel_sha256="0" * 64,
        username="self-test", feedback=None)
    view = ViewOutcome(path=Path("self-test.dcm"), header=header, laterality="L", view="CC",
                       reading=reading)
    outcome = ExamOutcome(
        exam_id=header.StudyInstanceUID, study_uid=header.StudyInstanceUID, views=(view,),
        breasts={"L": BreastOutcome("L", 0.5, "Positive", (view,), None),
                 "R": BreastOutcome("R", None, None, (), None)},
        threshold=0.5, model_id="self-test", model_sha256="0" * 64, reader="self-test",
        reader_name="Self Test")
    build_report(outcome, series_uid=generate_uid(), sop_uid=generate_uid(),
                 device_uid=generate_uid(), app_version="self-test", signed=False)
    config = PacsConfig.from_settings(settings) if settings is not None else None
    where = f"PACS {config.peer}" if config else "no PACS configured (results go to a folder)"
    return (f"pynetdicom {pynetdicom.__version__}, highdicom {highdicom.__version__}: a report "
            f"can be made; {where}")


def _header() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "SELFTEST"
    ds.PatientName = "Self^Test"
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyDate = "20260101"
    ds.StudyTime = "000000"
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Modality = "MG"
    return ds
