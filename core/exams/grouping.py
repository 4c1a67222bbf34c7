"""Grouping images into exams, and correcting the grouping by hand.

Each image joins an exam by the first rule that places it:

1. ``exam.json`` lists the file in one of its ``exams``: that exam.
2. A DICOM file with a Study Instance UID: its study (across folders: a study exported into
   several folders is still one exam). The exam's id is the UID.
3. ``exam.json`` in the file's folder names an ``exam`` for the whole folder: that exam.
4. The file's name follows ``<exam>_<side>_<view>`` (``A_1108_LEFT_CC.jpg``, ``p7-RMLO.png``:
   see :mod:`core.exams.sides`): the exam is the name's part before the side and view words,
   among the files of the same folder.
5. Otherwise, the folder: the images directly in one folder are one exam, whose id is the
   folder's path. DICOM files without a study UID are split further by their Patient ID.

Rules 4 and 5 never join files of different folders, and rule 5 never joins two patients the
files name: putting two women's images in one exam would give one of them the other's score,
whereas an exam split in two is visible and merged by hand (:func:`merge_exams`). Where two
exams of rule 4 in different folders share a name, each id gains its folder's path.

The functions here are pure: they take and return exam lists, so the app can offer the same
split, merge and side corrections as the command line's grouping, and undo them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import ExamError
from core.exams.model import (
    UNKNOWN,
    Exam,
    ExamId,
    ExamImage,
    GroupedBy,
    ImageFacts,
    ImageFile,
    Laterality,
)
from core.exams.sidecar import ExamFacts, Sidecar
from core.exams.sides import laterality_and_view, name_parts
from core.imaging.views import normalise_side, normalise_view

_IDENTITY = ("patient_id", "patient_name", "birth_date", "study_date", "accession",
             "manufacturer")


@dataclass
class _Group:
    key: tuple[str, ...]
    id: str
    grouped_by: GroupedBy
    facts: ExamFacts | None
    images: list[ExamImage]
    metas: list[ImageFacts]
    folder: Path


def group_exams(files: Iterable[ImageFile], *,
                sidecars: Mapping[Path, Sidecar] | None = None) -> list[Exam]:
    """The exams the files form, in the order their first images come, each image once.

    Parameters
    ----------
    files:
        The input files with what opening them gave (``meta`` None for a file that failed:
        it is placed by the rules that need no metadata).
    sidecars:
        ``exam.json`` of each folder, keyed by the folder's absolute path (see
        :func:`core.exams.sidecar.read_sidecars`).
    """
    sidecars = sidecars or {}
    groups: dict[tuple[str, ...], _Group] = {}
    for file in files:
        folder = Path(file.path).absolute().parent
        sidecar = sidecars.get(folder)
        stated = sidecar.views.get(Path(file.path).name, (None, None)) if sidecar else (None,
                                                                                        None)
        side, view = laterality_and_view(str(file.path), file.meta, stated=stated)
        key, exam_id, grouped_by, facts = _place(file, folder, sidecar)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(key, exam_id, grouped_by, facts, [], [], folder)
        group.images.append(ExamImage(path=str(file.path), laterality=side, view=view))
        if file.meta is not None:
            group.metas.append(file.meta)
    _qualify_shared_names(groups.values())
    return [_exam(group) for group in groups.values()]


def split_exam(exams: Sequence[Exam], exam_id: ExamId, *, paths: Iterable[str],
               new_id: ExamId | None = None) -> list[Exam]:
    """Move ``paths`` out of exam ``exam_id`` into a new exam (placed right after it), which
    keeps the exam's patient details. ``new_id`` defaults to the id with ``-2``, ``-3``...

    Raises
    ------
    ExamError
        No such exam, a path not in it, nothing or everything to move, or ``new_id`` taken.
    """
    index, exam = _find(exams, exam_id)
    moving = set(paths)
    missing = moving - set(exam.paths)
    if missing:
        raise ExamError(f"{', '.join(sorted(missing))} is not part of exam {exam_id}")
    if not moving or moving == set(exam.paths):
        raise ExamError("a split must leave images in both exams")
    taken = {e.id for e in exams}
    if new_id is None:
        new_id = next(ExamId(f"{exam_id}-{n}") for n in range(2, len(taken) + 3)
                      if f"{exam_id}-{n}" not in taken)
    elif new_id in taken:
        raise ExamError(f"there is already an exam {new_id}")
    kept = replace(exam, images=tuple(i for i in exam.images if i.path not in moving))
    moved = replace(exam, id=new_id, grouped_by="hand",
                    images=tuple(i for i in exam.images if i.path in moving))
    return [*exams[:index], kept, moved, *exams[index + 1:]]


def merge_exams(exams: Sequence[Exam], ids: Sequence[ExamId], *,
                allow_different_patients: bool = False) -> list[Exam]:
    """Join exams ``ids`` into the first of them, in its place; patient details missing from
    it are taken from the others.

    Raises
    ------
    ExamError
        Fewer than two exams, an unknown id, or exams of different patients (two different
        Patient IDs) unless ``allow_different_patients``.
    """
    if len(set(ids)) < 2:
        raise ExamError("a merge needs at least two exams")
    found = [_find(exams, exam_id)[1] for exam_id in dict.fromkeys(ids)]
    patients = {e.patient_id for e in found if e.patient_id is not None}
    if len(patients) > 1 and not allow_different_patients:
        raise ExamError(f"these exams are of different patients ({', '.join(sorted(patients))})")
    first = found[0]
    details = {name: next((getattr(e, name) for e in found if getattr(e, name) is not None),
                          None) for name in _IDENTITY}
    merged = replace(first, grouped_by="hand",
                     images=tuple(i for e in found for i in e.images), **details)
    gone = {e.id for e in found[1:]}
    return [merged if e.id == first.id else e for e in exams if e.id not in gone]


def set_side(exams: Sequence[Exam], path: str, *, laterality: Laterality | None = None,
             view: str | None = None) -> list[Exam]:
    """Say which breast (``L``/``R``) or view (``CC``, ``MLO``...) an image shows, by hand;
    None leaves that part as it is, ``"unknown"`` clears it.

    Raises
    ------
    ExamError
        No exam holds ``path``, or the laterality or view is not one the product knows.
    """
    side = laterality if laterality in (None, UNKNOWN) else normalise_side(laterality)
    if side is None and laterality is not None:
        raise ExamError(f"{laterality} is not a breast side (L or R)")
    named = view if view in (None, UNKNOWN) else normalise_view(view)
    if named is None and view is not None:
        raise ExamError(f"{view} is not a mammography view")
    for index, exam in enumerate(exams):
        image = exam.image(path)
        if image is None:
            continue
        fixed = replace(image, laterality=side or image.laterality, view=named or image.view)
        images = tuple(fixed if i.path == path else i for i in exam.images)
        return [*exams[:index], replace(exam, images=images), *exams[index + 1:]]
    raise ExamError(f"{path} is not part of any exam")


def _place(file: ImageFile, folder: Path, sidecar: Sidecar | None
           ) -> tuple[tuple[str, ...], str, GroupedBy, ExamFacts | None]:
    """The grouping key, proposed id, rule and ``exam.json`` facts for one file."""
    name = Path(file.path).name
    listed = sidecar.by_file.get(name) if sidecar else None
    if listed is not None:
        return ("id", listed.id), listed.id, "sidecar", listed
    study = file.meta.study_instance_uid if file.meta else None
    if study:
        return ("id", study), study, "study_uid", None
    if sidecar is not None and sidecar.default is not None:
        return ("id", sidecar.default.id), sidecar.default.id, "sidecar", sidecar.default
    parts = name_parts(name)
    if parts.exam and parts.side and parts.view:
        return ("name", str(folder), parts.exam), parts.exam, "name", None
    patient = file.meta.patient_id if file.meta else None
    if patient:
        return ("folder", str(folder), patient), f"{folder} ({patient})", "folder", None
    return ("folder", str(folder)), str(folder), "folder", None


def _qualify_shared_names(groups: Iterable[_Group]) -> None:
    groups = list(groups)
    counts = Counter(group.id for group in groups)
    for group in groups:
        if group.grouped_by == "name" and counts[group.id] > 1:
            group.id = str(group.folder / group.id)


def _exam(group: _Group) -> Exam:
    facts = group.facts
    details: dict[str, str | None] = {}
    for name in _IDENTITY:
        stated = getattr(facts, name, None) if facts is not None else None
        from_file = next((v for v in (_meta_value(m, name) for m in group.metas) if v), None)
        details[name] = stated or from_file
    return Exam(id=ExamId(group.id), images=tuple(group.images), grouped_by=group.grouped_by,
                **details)


def _meta_value(meta: ImageFacts, name: str) -> str | None:
    return meta.accession_number if name == "accession" else getattr(meta, name)


def _find(exams: Sequence[Exam], exam_id: ExamId) -> tuple[int, Exam]:
    for index, exam in enumerate(exams):
        if exam.id == exam_id:
            return index, exam
    raise ExamError(f"there is no exam {exam_id}")
