"""``exam.json``: what a person wrote about the exams in one folder of plain images.

It applies to the files directly in its folder (not to sub-folders), names them by file name,
and may hold, all optional::

    {
      "exam": "E-2024-0117",            # every file not listed below is this exam...
      "patient_id": "P-0042",           # ...of this patient (also "patient_name",
      "study_date": "2024-01-15",       #    "birth_date", "accession")
      "exams": [                        # files that are other exams
        {"exam": "E-2023-0088", "patient_id": "P-0042", "files": ["old_L_CC.png"]}
      ],
      "views": {                        # side and view, where neither file nor name tells
        "img1.png": {"laterality": "L", "view": "CC"}
      }
    }

An exam id in ``exam.json`` names the same exam wherever it is used, also a DICOM study when
it is that study's Study Instance UID. A DICOM file is moved by ``exam.json`` only when one of
its ``exams`` lists it by name; otherwise it stays in its own study.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import ExamError
from core.exams.model import ExamId
from core.imaging.views import Side, normalise_side, normalise_view

SIDECAR_NAME = "exam.json"
_MAX_BYTES = 1024 * 1024

_Text = Annotated[str, Field(min_length=1, max_length=256)]


class _Identity(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    exam: _Text | None = None
    patient_id: _Text | None = None
    patient_name: _Text | None = None
    birth_date: _Text | None = None
    study_date: _Text | None = None
    accession: _Text | None = None


class _ListedExam(_Identity):
    exam: _Text
    files: list[_Text] = Field(min_length=1)


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")

    laterality: str | None = None
    view: str | None = None

    @field_validator("laterality")
    @classmethod
    def _side(cls, value: str | None) -> str | None:
        if value is not None and normalise_side(value) is None:
            raise ValueError("laterality must be L or R")
        return normalise_side(value)

    @field_validator("view")
    @classmethod
    def _view(cls, value: str | None) -> str | None:
        if value is not None and normalise_view(value) is None:
            raise ValueError("view must be a mammography view such as CC or MLO")
        return normalise_view(value)


class _SidecarFile(_Identity):
    exams: list[_ListedExam] = []
    views: dict[str, _View] = {}


@dataclass(frozen=True)
class ExamFacts:
    """An exam as ``exam.json`` describes it."""

    id: ExamId
    patient_id: str | None = None
    patient_name: str | None = None
    birth_date: str | None = None
    study_date: str | None = None
    accession: str | None = None


@dataclass(frozen=True)
class Sidecar:
    """A parsed ``exam.json``: ``default`` for the folder's unlisted files, ``by_file`` for
    listed ones, ``views`` as (laterality, view) by file name."""

    default: ExamFacts | None = None
    by_file: dict[str, ExamFacts] = field(default_factory=dict)
    views: dict[str, tuple[Side | None, str | None]] = field(default_factory=dict)

    def exam_of(self, name: str) -> ExamFacts | None:
        """The exam ``exam.json`` puts this file in: the listed one, else the folder's."""
        return self.by_file.get(name, self.default)


def read_sidecar(folder: Path) -> Sidecar | None:
    """The folder's ``exam.json``, or None when it has none.

    Raises
    ------
    ExamError
        The file cannot be read, is not JSON, or does not follow the format above.
    """
    path = folder / SIDECAR_NAME
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise ExamError(f"{path}: could not be read ({exc.strerror or 'input/output error'})"
                        ) from exc
    if len(data) > _MAX_BYTES:
        raise ExamError(f"{path}: larger than {_MAX_BYTES:,} bytes, not an exam description")
    try:
        return parse_sidecar(json.loads(data))
    except (ValueError, ExamError) as exc:
        reason = exc.message if isinstance(exc, ExamError) else "not valid JSON"
        raise ExamError(f"{path}: {reason}") from exc


def read_sidecars(folders: Iterable[Path]) -> tuple[dict[Path, Sidecar], list[ExamError]]:
    """Each folder's ``exam.json`` that could be read, and the problem with each that could
    not (its folder is then grouped as if it had none)."""
    found: dict[Path, Sidecar] = {}
    problems: list[ExamError] = []
    for folder in folders:
        try:
            sidecar = read_sidecar(folder)
        except ExamError as exc:
            problems.append(exc)
            continue
        if sidecar is not None:
            found[folder] = sidecar
    return found, problems


def parse_sidecar(data: object) -> Sidecar:
    """A :class:`Sidecar` from the decoded JSON of an ``exam.json``.

    Raises
    ------
    ExamError
        The content does not follow the format (the first problem is named).
    """
    try:
        raw = _SidecarFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise ExamError(f"{where}: {first['msg']}") from exc
    default = None if raw.exam is None else _facts(raw)
    if default is None and any(v is not None for v in raw.model_dump(exclude={
            "exam", "exams", "views"}).values()):
        raise ExamError('patient details without an "exam" id to give them to')
    by_file: dict[str, ExamFacts] = {}
    for listed in raw.exams:
        facts = _facts(listed)
        for name in listed.files:
            if name in by_file and by_file[name].id != facts.id:
                raise ExamError(f"{name} is listed in two exams ({by_file[name].id}, {facts.id})")
            by_file[name] = facts
    views = {name: (v.laterality, v.view) for name, v in raw.views.items()}  # type: ignore[misc]
    return Sidecar(default=default, by_file=by_file, views=views)


def _facts(raw: _Identity) -> ExamFacts:
    assert raw.exam is not None
    return ExamFacts(id=ExamId(raw.exam), patient_id=raw.patient_id,
                     patient_name=raw.patient_name, birth_date=raw.birth_date,
                     study_date=raw.study_date, accession=raw.accession)
