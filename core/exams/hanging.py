"""The hanging protocol: where each image of an exam is shown.

The standard screening hanging is two by two: cranio-caudal views on top, medio-lateral
oblique views below, the right breast in the left column and the left breast in the right
one, each picture turned so that its chest wall faces the middle (right breast: chest wall on
its right edge; left breast: on its left edge), so the two breasts are seen as mirror images
and an asymmetry stands out.

An image whose side or view is unknown, a view other than CC and MLO, or a second image of a
position already taken is not hung; it is listed in :attr:`Hanging.others` (the viewer shows
it on its own), never guessed into a cell: a left view shown as a right one would mislead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.exams.model import Exam, ExamImage, Laterality

Side = Literal["R", "L"]
Position = tuple[Side, str]
"""A cell of the hanging: (breast, view), e.g. ``("R", "CC")``."""

POSITIONS: tuple[Position, ...] = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))
"""The four cells, row by row: R CC | L CC over R MLO | L MLO."""

ChestWall = Literal["left", "right"]
CHEST_WALL: dict[Side, ChestWall] = {"R": "right", "L": "left"}
"""Which edge of its cell each breast's chest wall is shown on (they meet in the middle)."""


def position_name(position: Position) -> str:
    """``"R CC"`` for ``("R", "CC")``."""
    return f"{position[0]} {position[1]}"


def chest_wall_for(laterality: Laterality | str) -> ChestWall | None:
    """The edge the chest wall of a breast is shown on; None when the side is unknown (the
    picture is then shown as stored)."""
    return CHEST_WALL.get(laterality)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Hanging:
    """Which image fills each of :data:`POSITIONS` (None: that view is missing), and the
    exam's images that are not hung, in exam order."""

    cells: dict[Position, ExamImage | None]
    others: tuple[ExamImage, ...]

    @property
    def hung(self) -> tuple[ExamImage, ...]:
        """The images in cells, in :data:`POSITIONS` order."""
        return tuple(image for image in self.cells.values() if image is not None)

    def position_of(self, path: str) -> Position | None:
        """The cell showing ``path``, or None when it is not hung."""
        return next((p for p, image in self.cells.items()
                     if image is not None and image.path == path), None)

    def breast(self, side: Side) -> tuple[Position, Position]:
        """One breast's cells, CC over MLO."""
        return (side, "CC"), (side, "MLO")

    def ordered(self) -> tuple[ExamImage, ...]:
        """Every image: the hung ones in hanging order, then the others."""
        return (*self.hung, *self.others)


def hang(exam: Exam, *, skip: frozenset[str] = frozenset()) -> Hanging:
    """Place the exam's images in the standard 2x2 cells (the first image of each position in
    exam order). Paths in ``skip`` (images that failed to open) are never hung, so a cell
    whose only image is broken shows as missing and the broken image is listed with the
    others."""
    cells: dict[Position, ExamImage | None] = dict.fromkeys(POSITIONS)
    others: list[ExamImage] = []
    for image in exam.images:
        position = (image.laterality, image.view)
        if image.path not in skip and position in cells and cells[position] is None:  # type: ignore[comparison-overlap]
            cells[position] = image  # type: ignore[index]
        else:
            others.append(image)
    return Hanging(cells=cells, others=tuple(others))
