"""Which breast and which view an image shows, and what its file name says about its exam.

Each of laterality and view is taken from the first source that tells it:

1. the DICOM file: ImageLaterality, else the series' Laterality; ViewPosition, else the view
   its ViewCodeSequence names (read by :mod:`core.imaging.dicom`);
2. the folder's ``exam.json`` (its ``views`` entry for the file);
3. the file name: a word ``L``/``LEFT``/``R``/``RIGHT`` and a word ``CC``/``MLO``, or both in
   one (``LCC``, ``RMLO``), words being separated by anything not a letter or a digit;
4. else ``"unknown"``, for the radiologist to say once.

From names only CC and MLO are taken: rarer abbreviations (``ML``, ``LM``, ``FB``) are common
words or initials in file names, and come from DICOM or ``exam.json`` instead. A name that
holds both sides, or two different views, tells neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from core.exams.model import UNKNOWN, ImageFacts, Laterality
from core.imaging.views import Side, normalise_side, normalise_view

_NAME_VIEWS = ("CC", "MLO")
_SIDE_WORDS = {"L": "L", "LEFT": "L", "R": "R", "RIGHT": "R"}
_JOINED = re.compile(r"^(L|R|LEFT|RIGHT)(CC|MLO)$")
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class NameParts:
    """What a file name says: the side and view words it holds, and the part before the first
    of them (the exam, in names like ``A_1108_LEFT_CC.jpg``); each None when absent."""

    side: Side | None
    view: str | None
    exam: str | None


def laterality_and_view(path: str, meta: ImageFacts | None, *,
                        stated: tuple[Side | None, str | None] = (None, None)
                        ) -> tuple[Laterality, str]:
    """The image's breast side (``L``, ``R`` or ``"unknown"``) and view (``CC``, ``MLO``, ...
    or ``"unknown"``), from the file, then ``stated`` (``exam.json``), then the name."""
    from_file: tuple[Side | None, str | None] = (None, None)
    if meta is not None:
        from_file = (normalise_side(meta.laterality), normalise_view(meta.view_position))
    name = name_parts(path)
    side = from_file[0] or stated[0] or name.side
    view = from_file[1] or stated[1] or name.view
    return side or UNKNOWN, view or UNKNOWN


def name_parts(path: str) -> NameParts:
    """The side, view and exam words of a file's name (suffixes and ``.gz`` left out)."""
    stem = _stem(PurePath(path).name)
    sides: set[Side] = set()
    views: set[str] = set()
    first: int | None = None
    for match in _WORD.finditer(stem):
        word = match.group().upper()
        joined = _JOINED.match(word)
        side = _SIDE_WORDS.get(joined.group(1) if joined else word)
        view = joined.group(2) if joined else word if word in _NAME_VIEWS else None
        if side is None and view is None:
            continue
        if side is not None:
            sides.add(side)  # type: ignore[arg-type]
        if view is not None:
            views.add(view)
        if first is None:
            first = match.start()
    prefix = stem[:first].strip(" _-.") if first is not None else ""
    return NameParts(side=sides.pop() if len(sides) == 1 else None,
                     view=views.pop() if len(views) == 1 else None,
                     exam=prefix or None)


def _stem(name: str) -> str:
    if name.lower().endswith(".gz"):
        name = name[:-3]
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name
