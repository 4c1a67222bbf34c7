"""MG DICOM test exams made with pydicom from the fixtures' real mammograms.

Each exam is one woman's 4-view screening mammogram (L CC, L MLO, R CC, R MLO), one series
per view, with the tags a mammography PACS holds: Digital Mammography X-Ray Image Storage -
For Presentation, Modality MG, ImageLaterality, ViewPosition, ViewCodeSequence, patient,
study, accession and date. The pixels are the fixtures' images as 12-bit values.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

FIXTURES = Path(__file__).parent / "fixtures"

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
VIEWS = (("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO"))
VIEW_CODES = {"CC": ("399162004", "cranio-caudal"),
              "MLO": ("399368009", "medio-lateral oblique")}
ORIENTATION = {("L", "CC"): "A\\R", ("R", "CC"): "P\\L", ("L", "MLO"): "A\\FR",
               ("R", "MLO"): "P\\FL"}


@dataclass(frozen=True)
class MgExam:
    patient_id: str
    patient_name: str
    study_uid: str
    accession: str
    study_date: date
    datasets: tuple[Dataset, ...]

    @property
    def sop_uids(self) -> set[str]:
        return {str(ds.SOPInstanceUID) for ds in self.datasets}


def rsna_images() -> list[Path]:
    return sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))


def make_exam(images: list[Path], *, patient_id: str, patient_name: str, accession: str,
              study_date: date, size: int | None = None) -> MgExam:
    """A 4-view exam from four picture files (in ``VIEWS`` order); ``size`` scales them."""
    study_uid = generate_uid()
    datasets = tuple(
        mg_dataset(_pixels(path, size), side=side, view=view, patient_id=patient_id,
                   patient_name=patient_name, study_uid=study_uid, accession=accession,
                   study_date=study_date, number=number)
        for number, (path, (side, view)) in enumerate(zip(images, VIEWS, strict=True), 1))
    return MgExam(patient_id=patient_id, patient_name=patient_name, study_uid=study_uid,
                  accession=accession, study_date=study_date, datasets=datasets)


def two_rsna_exams(*, size: int | None = None) -> list[MgExam]:
    """Two 4-view exams of two women, on two days, from the eight RSNA fixture images."""
    images = rsna_images()
    return [
        make_exam(images[:4], patient_id="MG-0001", patient_name="Test^Alice",
                  accession="ACC1001", study_date=date(2026, 11, 2), size=size),
        make_exam(images[4:8], patient_id="MG-0002", patient_name="Test^Beatrice",
                  accession="ACC1002", study_date=date(2026, 11, 3), size=size),
    ]


def mg_dataset(pixels: np.ndarray, *, side: str, view: str, patient_id: str,
               patient_name: str, study_uid: str, accession: str, study_date: date,
               number: int) -> Dataset:
    """One MG For Presentation image (12-bit MONOCHROME2) with its file meta."""
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MG_FOR_PRESENTATION
    ds.SOPInstanceUID = sop_uid
    ds.Modality = "MG"
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.StudyID = accession[-4:]
    ds.AccessionNumber = accession
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "093000"
    ds.StudyDescription = "Screening mammography"
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = number
    ds.SeriesDescription = f"{side}{view}"
    ds.InstanceNumber = 1
    ds.Manufacturer = "Mammo test factory"
    ds.BodyPartExamined = "BREAST"
    ds.ImageLaterality = side
    ds.ViewPosition = view
    code, meaning = VIEW_CODES[view]
    view_code = Dataset()
    view_code.CodeValue = code
    view_code.CodingSchemeDesignator = "SCT"
    view_code.CodeMeaning = meaning
    view_code.ViewModifierCodeSequence = Sequence([])
    ds.ViewCodeSequence = Sequence([view_code])
    ds.PatientOrientation = ORIENTATION[(side, view)]
    breast = Dataset()
    breast.CodeValue = "76752008"
    breast.CodingSchemeDesignator = "SCT"
    breast.CodeMeaning = "Breast"
    ds.AnatomicRegionSequence = Sequence([breast])
    ds.AcquisitionContextSequence = Sequence([])
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.OrganExposed = "BREAST"
    ds.DetectorType = "DIRECT"
    ds.ImagerPixelSpacing = [0.1, 0.1]
    ds.LossyImageCompression = "00"
    ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.WindowCenter = 2048
    ds.WindowWidth = 4096
    ds.PresentationLUTShape = "IDENTITY"
    ds.BurnedInAnnotation = "NO"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(n) for n in pixels.shape)
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype("<u2").tobytes()
    return ds


def blank_mg_bytes(side: int) -> bytes:
    """A black ``side`` x ``side`` MG image of another patient, as a DICOM file's bytes."""
    ds = mg_dataset(np.zeros((side, side), np.uint16), side="L", view="CC",
                    patient_id="FILLER", patient_name="Filler^Storage", study_uid=generate_uid(),
                    accession="FILL", study_date=date(2020, 1, 1), number=1)
    return dicom_bytes(ds)


def dicom_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_exam(exam: MgExam, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in exam.datasets:
        path = folder / f"{ds.SeriesDescription}.dcm"
        path.write_bytes(dicom_bytes(ds))
        paths.append(path)
    return paths


def _pixels(path: Path, size: int | None) -> np.ndarray:
    with Image.open(path) as image:
        grey = image.convert("L")
        if size is not None:
            grey = grey.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(grey, dtype=np.uint16) * 16
