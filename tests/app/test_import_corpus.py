"""Importing the bad-inputs corpus in the app: each bad file is one error row with its reason,
the good ones are scored, no dialog interrupts the batch, no stored reading is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.worklist_model import RowStatus
from core.settings import Settings
from tests.app.factories import FakeClassifier
from tests.app.helpers import open_message_boxes, worklist_texts
from tests.corpus.generate import LIMITS, kinds, write_corpus, write_many_files, write_valid
from tests.corpus.judge import Said, judge_all


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's settings with the corpus's file size limit."""
    return settings.model_copy(update={"max_file_bytes": LIMITS["max_file_bytes"]})


def _import(qtbot, window, folder: Path) -> int:
    with qtbot.waitSignal(window.batch_finished, timeout=120_000) as finished:
        window.import_paths([str(folder)])
    return finished.args[0]


def test_the_corpus_imports_as_error_rows_and_scored_rows(qtbot, make_window, store,
                                                          tmp_path: Path) -> None:
    made = write_corpus(tmp_path / "in")
    valid = write_valid(tmp_path / "in" / "valid", 3)
    window = make_window(FakeClassifier())
    _import(qtbot, window, tmp_path / "in" / "valid")
    earlier = {reading.id for reading in store.list_readings()}

    done = _import(qtbot, window, tmp_path / "in")

    rows = {row.path: row for row in window.worklist_model.rows()}
    results = {path: Said(read=row.status is RowStatus.DONE, message=row.error or "")
               for path, row in rows.items()}
    verdicts = judge_all(made, kinds(), results)
    assert [f"{v.kind.name}: {v.problem}" for v in verdicts if not v.ok] == []
    assert all(rows[str(path)].status is RowStatus.DONE for path in valid)
    assert done == len(made) + len(valid) == len(rows)  # one row per file, nothing more
    shown = dict(zip(worklist_texts(window, "Name"), worklist_texts(window, "Status"),
                     strict=True))
    assert shown["empty.png"] == "error: the file is empty (0 bytes)"
    assert open_message_boxes() == []  # per-file errors stay in the list
    after = {reading.id for reading in store.list_readings()}
    read = sum(row.status is RowStatus.DONE for row in rows.values())
    assert earlier <= after
    assert len(after) == read - len(valid) + len(earlier)  # the valid ones were read before


@pytest.mark.slow
def test_a_folder_of_ten_thousand_files_imports(qtbot, make_window, store, tmp_path: Path
                                                ) -> None:
    valid, broken = write_many_files(tmp_path / "many", 10_000)
    window = make_window(FakeClassifier())

    assert _import(qtbot, window, tmp_path / "many") == 10_000

    model = window.worklist_model
    assert len(model.rows()) == 10_000
    assert model.count(RowStatus.DONE) == valid
    assert model.count(RowStatus.ERROR) == broken
    assert store.count_readings() == valid
    assert open_message_boxes() == []

