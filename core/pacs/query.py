"""C-ECHO and C-FIND: is the PACS there, which studies does it hold, which images in one.

Queries use the Study Root information model. A study matches on its date range, Patient ID,
Accession Number and ModalitiesInStudy (MG by default: the day's mammograms).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from typing import NewType

from pydicom.dataset import Dataset
from pynetdicom.association import Association
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind, Verification

from core.errors import PacsError, PacsErrorKind
from core.pacs.config import PacsConfig
from core.pacs.connection import associate

log = logging.getLogger(__name__)

StudyUid = NewType("StudyUid", str)
FIND = StudyRootQueryRetrieveInformationModelFind
PENDING = (0xFF00, 0xFF01)


@dataclass(frozen=True)
class StudyQuery:
    """What to look for; None matches anything. Dates are inclusive."""

    date_from: date | None = None
    date_to: date | None = None
    patient_id: str | None = None
    accession: str | None = None
    modality: str | None = "MG"


@dataclass(frozen=True)
class StudySummary:
    """One study as the PACS describes it. Dates are ISO ``YYYY-MM-DD`` when valid."""

    study_uid: StudyUid
    patient_id: str | None
    patient_name: str | None
    birth_date: str | None
    study_date: str | None
    study_time: str | None
    accession: str | None
    description: str | None
    modalities: tuple[str, ...]
    series_count: int | None
    image_count: int | None


@dataclass(frozen=True)
class InstanceRef:
    """One image of a study on the PACS."""

    series_uid: str
    sop_instance_uid: str
    modality: str = ""


def echo(config: PacsConfig) -> None:
    """C-ECHO: return when the PACS answers; raise :class:`PacsError` otherwise."""
    with associate(config, [Verification]) as assoc:
        status = assoc.send_c_echo()
        if not status or int(status.get("Status", -1)) != 0:
            raise PacsError(f"The PACS ({config.peer}) accepted the connection but did not "
                            "answer the echo; ask IT to check its log.",
                            kind=PacsErrorKind.REFUSED, transient=True)


def find_studies(config: PacsConfig, query: StudyQuery, *,
                 cancel: threading.Event | None = None) -> list[StudySummary]:
    """The studies matching ``query``, oldest first (by date and time).

    Raises :class:`PacsError` when the PACS cannot be reached or refuses the query.
    """
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = ""
    identifier.PatientID = query.patient_id or ""
    identifier.PatientName = ""
    identifier.PatientBirthDate = ""
    identifier.StudyDate = _date_range(query.date_from, query.date_to)
    identifier.StudyTime = ""
    identifier.AccessionNumber = query.accession or ""
    identifier.StudyDescription = ""
    identifier.ModalitiesInStudy = query.modality or ""
    identifier.NumberOfStudyRelatedSeries = None
    identifier.NumberOfStudyRelatedInstances = None
    with associate(config, [FIND]) as assoc:
        found = [_summary(ds) for ds in _find(assoc, identifier, config=config, cancel=cancel)]
    wanted = query.modality
    if wanted:  # a PACS may ignore ModalitiesInStudy; never list a CT study as a mammogram
        found = [s for s in found if not s.modalities or wanted in s.modalities]
    return sorted(found, key=lambda s: (s.study_date or "", s.study_time or ""))


def list_instances(assoc: Association, study_uid: str, *, config: PacsConfig,
                   cancel: threading.Event | None = None,
                   modalities: Collection[str] | None = None) -> list[InstanceRef]:
    """The images of a study, asked series by series on an open association; with
    ``modalities``, only those of series of these modalities."""
    series = Dataset()
    series.QueryRetrieveLevel = "SERIES"
    series.StudyInstanceUID = study_uid
    series.SeriesInstanceUID = ""
    series.Modality = ""
    refs: list[InstanceRef] = []
    for found in list(_find(assoc, series, config=config, cancel=cancel)):
        series_uid = str(found.get("SeriesInstanceUID", ""))
        modality = str(found.get("Modality", "")).strip()
        if not series_uid or (modalities is not None and modality not in modalities):
            continue
        images = Dataset()
        images.QueryRetrieveLevel = "IMAGE"
        images.StudyInstanceUID = study_uid
        images.SeriesInstanceUID = series_uid
        images.SOPInstanceUID = ""
        for image in _find(assoc, images, config=config, cancel=cancel):
            uid = str(image.get("SOPInstanceUID", ""))
            if uid:
                refs.append(InstanceRef(series_uid=series_uid, sop_instance_uid=uid,
                                        modality=modality))
    return refs


def _find(assoc: Association, identifier: Dataset, *, config: PacsConfig,
          cancel: threading.Event | None) -> Iterator[Dataset]:
    for status, found in assoc.send_c_find(identifier, FIND):
        if cancel is not None and cancel.is_set():
            assoc.abort()
            return
        code = int(status.get("Status", -1)) if status else -1
        if code in PENDING and found is not None:
            yield found
        elif code == 0:
            return
        elif code == -1:
            # The association ended without an answer: a PACS that does not allow this AE
            # to query drops it (Orthanc does), as does one that went away.
            raise PacsError(
                f"The PACS ({config.peer}) ended the query without an answer. It may not allow "
                f"this workstation ({config.calling_ae}) to query it; IT can check the PACS's "
                "list of known modalities (docs/pacs.md).",
                kind=PacsErrorKind.REFUSED, transient=False)
        else:
            raise PacsError(
                f"The PACS ({config.peer}) refused the query (DICOM status 0x{code:04X}).",
                kind=PacsErrorKind.REFUSED, transient=code in (0xA700, 0xA701, 0xA702))


def _date_range(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return ""
    if start is not None and start == end:
        return start.strftime("%Y%m%d")
    left = start.strftime("%Y%m%d") if start else ""
    right = end.strftime("%Y%m%d") if end else ""
    return f"{left}-{right}"


def _summary(ds: Dataset) -> StudySummary:
    modalities = ds.get("ModalitiesInStudy", "")
    if isinstance(modalities, str):
        modalities = [m for m in modalities.split("\\") if m]
    return StudySummary(
        study_uid=StudyUid(str(ds.get("StudyInstanceUID", ""))),
        patient_id=_text(ds, "PatientID"), patient_name=_text(ds, "PatientName"),
        birth_date=_iso_date(_text(ds, "PatientBirthDate")),
        study_date=_iso_date(_text(ds, "StudyDate")), study_time=_text(ds, "StudyTime"),
        accession=_text(ds, "AccessionNumber"), description=_text(ds, "StudyDescription"),
        modalities=tuple(str(m) for m in modalities),
        series_count=_count(ds, "NumberOfStudyRelatedSeries"),
        image_count=_count(ds, "NumberOfStudyRelatedInstances"))


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    text = "" if value is None else str(value).strip()
    return text or None


def _count(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _iso_date(value: str | None) -> str | None:
    if value and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value
