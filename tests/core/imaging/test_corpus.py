"""Every kind of the bad-inputs corpus, opened as the reading pipeline opens it: valid kinds
are read, the rest refused with one ImageDecodeError that names the file and says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import ImageDecodeError
from core.imaging import ensure_mammogram_shape, iter_image_paths, open_image
from tests.corpus.generate import LIMITS, Kind, kinds, write_corpus


@pytest.mark.parametrize("kind", kinds(), ids=lambda kind: kind.name)
def test_each_kind_is_read_or_refused_with_its_reason(kind: Kind, tmp_path: Path) -> None:
    path = kind.make(tmp_path)

    try:
        image = open_image(path, **LIMITS)
        ensure_mammogram_shape(image)
    except ImageDecodeError as error:
        assert kind.expect == "refused", f"{kind.name} was refused: {error}"
        assert kind.reason in error.reason
        assert error.path == str(path.absolute())
        assert str(error) == f"{path.name}: {error.reason}"
        assert "\n" not in str(error)
        return
    assert kind.expect == "read", f"{kind.name} was read, expected: {kind.reason}"
    assert image.pixels.dtype == np.float32 and image.pixels.ndim == 2
    assert np.isfinite(image.pixels).all()
    assert 0.0 <= image.pixels.min() <= image.pixels.max() <= 1.0


def test_a_folder_walk_reports_every_kind_once(tmp_path: Path) -> None:
    """Nothing named like an image is skipped in silence: a broken link, a named pipe or a
    socket gets its own error like any damaged file."""
    made = write_corpus(tmp_path / "corpus")

    walked = list(iter_image_paths([tmp_path / "corpus"]))

    assert sorted(map(str, walked)) == sorted(str(path) for path in made.values())


def test_a_bare_dicom_named_by_its_uid_opens(tmp_path: Path) -> None:
    """The folder walk takes ``1.2.840.99`` as a file without a suffix; opening it must too."""
    path = next(kind for kind in kinds() if kind.name == "dicom-no-preamble").make(tmp_path)
    assert path.suffix == ".99"

    assert open_image(path, **LIMITS).meta.file_format == "DICOM"


def test_expanding_the_expanded_corpus_gives_the_same_paths(tmp_path: Path) -> None:
    """The app lists a folder's files as rows, then reads those rows: a link loop among them
    must not be walked again (it would read the whole folder a second time)."""
    write_corpus(tmp_path / "corpus")
    walked = list(iter_image_paths([tmp_path / "corpus"]))

    assert list(iter_image_paths(walked)) == walked
