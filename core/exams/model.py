"""What an exam is: one woman's mammograms taken together, each with its breast and view."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NewType, Protocol

ExamId = NewType("ExamId", str)
"""A Study Instance UID, the id an ``exam.json`` gives, a name's exam part, or a folder."""

Laterality = Literal["L", "R", "unknown"]
UNKNOWN = "unknown"
"""Laterality or view that neither the file nor its name tells (the UI asks once)."""

GroupedBy = Literal["study_uid", "sidecar", "name", "folder", "hand"]
"""Which rule put an exam's images together (see :mod:`core.exams.grouping`)."""


class ImageFacts(Protocol):
    """What grouping reads about an image: its side and view as the file states them, and
    whose exam it is. :class:`core.imaging.ImageMeta` has these (read from the file), and so
    has the store's record of an image read before (``core.store.ImageIdentity``)."""

    @property
    def laterality(self) -> str | None: ...
    @property
    def view_position(self) -> str | None: ...
    @property
    def study_instance_uid(self) -> str | None: ...
    @property
    def patient_id(self) -> str | None: ...
    @property
    def patient_name(self) -> str | None: ...
    @property
    def birth_date(self) -> str | None: ...
    @property
    def study_date(self) -> str | None: ...
    @property
    def accession_number(self) -> str | None: ...
    @property
    def manufacturer(self) -> str | None: ...


@dataclass(frozen=True)
class ImageFile:
    """One input file as grouping sees it; ``meta`` is None when it could not be opened (it
    is still listed in its exam, so that a missing view is visible)."""

    path: Path
    meta: ImageFacts | None = None


@dataclass(frozen=True)
class ExamImage:
    """One image of an exam: where it is, and which breast and view it shows.

    ``view`` is an ACR MQCM abbreviation (``CC``, ``MLO``, ...) or ``"unknown"``.
    """

    path: str
    laterality: Laterality = UNKNOWN
    view: str = UNKNOWN


@dataclass(frozen=True)
class Exam:
    """Images of one exam, in input order, with what is known of whose exam it is.

    The identity fields come from the DICOM files or the folder's ``exam.json``; they are None
    where nothing tells them (plain images grouped by name or folder).
    """

    id: ExamId
    images: tuple[ExamImage, ...]
    grouped_by: GroupedBy
    patient_id: str | None = None
    patient_name: str | None = None
    birth_date: str | None = None
    study_date: str | None = None
    accession: str | None = None
    manufacturer: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(image.path for image in self.images)

    def image(self, path: str) -> ExamImage | None:
        """The image at ``path``, or None when it is not part of this exam."""
        return next((image for image in self.images if image.path == path), None)
