"""The 2x2 hanging: R CC | L CC over R MLO | L MLO, chest walls meeting in the middle; what
cannot be placed for sure is listed, never guessed into a cell."""

from __future__ import annotations

from core.exams import POSITIONS, chest_wall_for, hang, position_name
from tests.core.exams.factories import exam


def test_four_views_hang_in_the_standard_cells_whatever_their_order() -> None:
    four = exam("E", ("lmlo.png", "L", "MLO"), ("rcc.png", "R", "CC"), ("lcc.png", "L", "CC"),
                ("rmlo.png", "R", "MLO"))

    hanging = hang(four)

    assert [position_name(p) for p in POSITIONS] == ["R CC", "L CC", "R MLO", "L MLO"]
    assert {position_name(p): i.path for p, i in hanging.cells.items() if i} == {
        "R CC": "rcc.png", "L CC": "lcc.png", "R MLO": "rmlo.png", "L MLO": "lmlo.png"}
    assert hanging.others == ()
    assert [i.path for i in hanging.ordered()] == ["rcc.png", "lcc.png", "rmlo.png", "lmlo.png"]


def test_the_breasts_face_each_other() -> None:
    assert chest_wall_for("R") == "right"  # left column, chest wall towards the middle
    assert chest_wall_for("L") == "left"
    assert chest_wall_for("unknown") is None  # shown as stored


def test_a_missing_view_leaves_its_cell_empty_and_doubtful_images_are_not_hung() -> None:
    partial = exam("E", ("rcc.png", "R", "CC"), ("x.png", "unknown", "CC"),
                   ("rcc2.png", "R", "CC"), ("lml.png", "L", "ML"), ("lmlo.png", "L", "MLO"))

    hanging = hang(partial)

    assert hanging.cells[("L", "CC")] is None and hanging.cells[("R", "MLO")] is None
    assert hanging.cells[("R", "CC")].path == "rcc.png"  # the first one of a position
    assert [i.path for i in hanging.others] == ["x.png", "rcc2.png", "lml.png"]
    assert hanging.position_of("lmlo.png") == ("L", "MLO")
    assert hanging.position_of("x.png") is None
    assert hanging.breast("L") == (("L", "CC"), ("L", "MLO"))


def test_a_broken_image_is_not_hung_and_a_good_copy_takes_its_cell() -> None:
    views = exam("E", ("bad.dcm", "R", "CC"), ("good.dcm", "R", "CC"))

    hanging = hang(views, skip=frozenset({"bad.dcm"}))

    assert hanging.cells[("R", "CC")].path == "good.dcm"
    assert [i.path for i in hanging.others] == ["bad.dcm"]
