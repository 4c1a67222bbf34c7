"""The exams of a growing set of files, with the reader's corrections kept.

The app learns about its files one at a time (a batch reports each file as it is read, and a
DICOM file's study is known only once it is opened), so it groups again as facts arrive. The
reader's corrections (a split, a merge, a side said by hand) must survive each regrouping:
they are kept as edits and applied again, in the order they were made, to every new grouping.
An edit that no longer applies (its images went elsewhere) is skipped until it does.

Edits name images by path, not exams by id: an exam's id changes when it regroups (the
folder's exam of DICOM files still being read becomes their study's exam once they open).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import ExamError
from core.exams.grouping import group_exams, merge_exams, set_side, split_exam
from core.exams.model import UNKNOWN, Exam, ExamId, ImageFacts, ImageFile, Laterality
from core.exams.sidecar import Sidecar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Split:
    paths: frozenset[str]
    new_id: ExamId


@dataclass(frozen=True)
class _Merge:
    anchors: tuple[str, ...]  # one image of each exam, the first's exam keeps its place
    allow_different_patients: bool


@dataclass(frozen=True)
class _Side:
    path: str
    laterality: Laterality | None
    view: str | None


_Edit = _Split | _Merge | _Side


class ExamRegister:
    """Files in the order they were added, what is known about each, and the edits made.

    Not thread-safe: one owner (the app's worklist model, on the UI thread).
    """

    def __init__(self) -> None:
        self._facts: dict[str, ImageFacts | None] = {}
        self._sidecars: dict[Path, Sidecar] = {}
        self._edits: list[_Edit] = []
        self._sides: dict[str, _Side] = {}
        self._exams: list[Exam] | None = []
        self._where: dict[str, int] = {}

    # Facts --------------------------------------------------------------------------------

    def add(self, path: str, facts: ImageFacts | None = None) -> bool:
        """Add a file, or tell more about one (its facts once opened). True when the grouping
        may change (a new file, or facts that say something new)."""
        known = path in self._facts
        if known and (facts is None or _same(self._facts[path], facts)):
            return False
        if known and self._facts[path] is None and _says_nothing(facts):
            return False  # a plain picture opened: nothing in it moves it
        self._facts[path] = facts if facts is not None else self._facts.get(path)
        self._exams = None
        return True

    def add_sidecars(self, sidecars: Mapping[Path, Sidecar]) -> None:
        """``exam.json`` of folders (keyed by absolute folder path), as read on a worker."""
        if sidecars:
            self._sidecars.update(sidecars)
            self._exams = None

    def __contains__(self, path: object) -> bool:
        return path in self._facts

    # Edits --------------------------------------------------------------------------------

    def split(self, exam_id: ExamId, paths: Sequence[str]) -> ExamId:
        """Move ``paths`` out of exam ``exam_id`` into a new exam; its id is returned.

        Raises
        ------
        ExamError
            As :func:`core.exams.split_exam`.
        """
        exams = split_exam(self.exams(), exam_id, paths=paths)
        new_id = exams[[e.id for e in exams].index(exam_id) + 1].id
        self._record(_Split(frozenset(paths), new_id), exams)
        return new_id

    def merge(self, ids: Sequence[ExamId], *, allow_different_patients: bool = False) -> None:
        """Join the exams ``ids`` into the first of them.

        Raises
        ------
        ExamError
            As :func:`core.exams.merge_exams`.
        """
        exams = merge_exams(self.exams(), ids, allow_different_patients=allow_different_patients)
        by_id = {e.id: e for e in self.exams()}
        anchors = tuple(by_id[i].images[0].path for i in dict.fromkeys(ids) if by_id[i].images)
        self._record(_Merge(anchors, allow_different_patients), exams)

    def set_side(self, path: str, *, laterality: Laterality | None = None,
                 view: str | None = None) -> None:
        """Say by hand which breast and view an image shows (None leaves that part).

        Raises
        ------
        ExamError
            As :func:`core.exams.set_side`.
        """
        exams = set_side(self.exams(), path, laterality=laterality, view=view)
        earlier = self._sides.get(path)
        edit = _Side(path, laterality or (earlier.laterality if earlier else None),
                     view or (earlier.view if earlier else None))
        self._sides[path] = edit
        self._exams = exams
        self._index()

    # Result -------------------------------------------------------------------------------

    def exams(self) -> list[Exam]:
        """The exams, in the order their first files were added, with every edit applied."""
        if self._exams is None:
            files = [ImageFile(path=Path(p), meta=f) for p, f in self._facts.items()]
            exams = group_exams(files, sidecars=self._sidecars)
            for edit in [*self._edits, *self._sides.values()]:
                exams = _apply(exams, edit)
            self._exams = exams
            self._index()
        return list(self._exams)

    def exam_of(self, path: str) -> Exam | None:
        """The exam that holds ``path``, or None for a file never added."""
        exams = self.exams()
        number = self._where.get(path)
        return None if number is None else exams[number]

    def unknown_paths(self) -> list[str]:
        """Images whose side or view is still unknown."""
        return [i.path for e in self.exams() for i in e.images
                if UNKNOWN in (i.laterality, i.view)]

    def _record(self, edit: _Edit, exams: list[Exam]) -> None:
        self._edits.append(edit)
        self._exams = exams
        self._index()

    def _index(self) -> None:
        assert self._exams is not None
        self._where = {i.path: n for n, e in enumerate(self._exams) for i in e.images}


def _apply(exams: list[Exam], edit: _Edit) -> list[Exam]:
    try:
        if isinstance(edit, _Side):
            if any(e.image(edit.path) for e in exams):
                return set_side(exams, edit.path, laterality=edit.laterality, view=edit.view)
            return exams
        if isinstance(edit, _Split):
            for exam in exams:
                moving = edit.paths & set(exam.paths)
                if moving and moving != set(exam.paths):
                    taken = {e.id for e in exams}
                    new_id = edit.new_id if edit.new_id not in taken else None
                    return split_exam(exams, exam.id, paths=moving, new_id=new_id)
            return exams
        ids = list(dict.fromkeys(e.id for a in edit.anchors for e in exams if e.image(a)))
        if len(ids) < 2:
            return exams
        return merge_exams(exams, ids, allow_different_patients=edit.allow_different_patients)
    except ExamError as exc:  # the files moved since: the edit waits until it applies again
        log.info("Exam edit %r not applied: %s", edit, exc)
        return exams


def _fields(facts: ImageFacts | None) -> tuple[str | None, ...]:
    if facts is None:
        return (None,) * 9
    return (facts.laterality, facts.view_position, facts.study_instance_uid, facts.patient_id,
            facts.patient_name, facts.birth_date, facts.study_date, facts.accession_number,
            facts.manufacturer)


def _same(a: ImageFacts | None, b: ImageFacts | None) -> bool:
    return _fields(a) == _fields(b)


def _says_nothing(facts: ImageFacts | None) -> bool:
    return all(value is None for value in _fields(facts))
