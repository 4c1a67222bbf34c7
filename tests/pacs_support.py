"""Shared steps of the PACS tests: read an exam's files into a store with a model, sign it,
and look at what Orthanc holds."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from core.reading import ReadingService
from core.store import ModelOpinion, NewAssessment, Store, UserId
from tests.app.factories import FakeClassifier
from tests.orthanc import OrthancServer

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
LIMITS = {"max_file_bytes": 10**9, "max_pixels": 10**9}


def read_files(store: Store, files: Sequence[Path], *, user_id: UserId,
               classifier: FakeClassifier | None = None) -> FakeClassifier:
    """Score the files into the store as ``user_id`` (the fake model); returns the model."""
    classifier = classifier or FakeClassifier()
    service = ReadingService(store=store, classifier=classifier, **LIMITS)  # type: ignore[arg-type]
    outcomes = list(service.read(files, user_id=user_id))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    return classifier


def sign_breasts(store: Store, exam_id: str, *, user_id: UserId,
                 birads: dict[str, str], density: str | None = "b") -> None:
    """The reader signs an assessment of each breast named in ``birads``."""
    store.assessments.sign([
        NewAssessment(exam_id=exam_id, side=side, user_id=user_id, birads=category,  # type: ignore[arg-type]
                      density=density, note=f"{side} read", mode="with_model",
                      model=ModelOpinion(model_id="fake-densenet-1", score=0.5,
                                         label="Positive", threshold=0.2),
                      agrees_with_model=True)
        for side, category in birads.items()])


def orthanc_objects(orthanc: OrthancServer, study_uid: str, sop_class: str) -> list[Dataset]:
    """The study's objects of one SOP class that Orthanc holds, as pydicom reads them."""
    return [pydicom.dcmread(io.BytesIO(orthanc.instance_bytes(item["ID"])))
            for item in orthanc.instances_of_study(study_uid)
            if item.get("SOPClassUID") == sop_class]


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines dciodvfy (dicom3tools) reports as errors for a DICOM file."""
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return [line for line in (run.stdout + run.stderr).splitlines()
            if line.startswith("Error")]
