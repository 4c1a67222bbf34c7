"""Demo exams for the screenshots: two four-view DICOM studies and one set of PNGs, made from
DDSM cases (scanned film, CC BY 4.0; see the data set's README).

Each DICOM study gets its own Study Instance UID and made-up identity (patient ID, name, birth
and study date, accession, manufacturer); its files are numbered, so only their tags say side
and view. The PNGs keep DDSM's ``<case>_<SIDE>_<VIEW>`` names, grouped by that rule.

    .venv/bin/python docs/screenshots/demo_exams.py DDSM_IMAGES OUT
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DIGITAL_MG = "1.2.840.10008.5.1.4.1.1.1.2"
VIEWS = (("RIGHT", "CC"), ("LEFT", "CC"), ("RIGHT", "MLO"), ("LEFT", "MLO"))
STUDIES = (
    ("A_1128", {"PatientID": "DEMO-1128", "PatientName": "DEMO^Alice",
                "PatientBirthDate": "19580312", "StudyDate": "20261130",
                "AccessionNumber": "ACC-24-1128", "Manufacturer": "DDSM film (scanned)"}),
    ("A_1261", {"PatientID": "DEMO-1261", "PatientName": "DEMO^Beatrice",
                "PatientBirthDate": "19640722", "StudyDate": "20261130",
                "AccessionNumber": "ACC-24-1261", "Manufacturer": "DDSM film (scanned)"}),
)
PNG_CASE = "A_1667"


def write_study(images: Path, case: str, identity: dict[str, str], out: Path) -> list[Path]:
    study = generate_uid()
    written = []
    for number, (side, view) in enumerate(VIEWS, start=1):
        pixels = np.asarray(Image.open(images / f"{case}_{side}_{view}.jpg").convert("L"))
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = DIGITAL_MG
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
        ds.Modality = "MG"
        ds.ImageLaterality, ds.ViewPosition = side[0], view
        for keyword, value in identity.items():
            setattr(ds, keyword, value)
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 8, 8, 7
        ds.PixelRepresentation = 0
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        path = out / identity["PatientID"] / f"IM{number:04d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def write_demo(images: Path, out: Path) -> Path:
    """Write the three exams under ``out`` and return it."""
    for case, identity in STUDIES:
        write_study(images, case, identity, out / "dicom")
    pngs = out / "png"
    pngs.mkdir(parents=True, exist_ok=True)
    for side, view in VIEWS:
        Image.open(images / f"{PNG_CASE}_{side}_{view}.jpg").convert("L").save(
            pngs / f"{PNG_CASE}_{side}_{view}.png")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path, help="DDSM images folder")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    print(write_demo(args.images, args.out))  # noqa: T201 - a script reporting its output
    return 0


if __name__ == "__main__":
    sys.exit(main())
