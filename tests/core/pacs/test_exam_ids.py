"""Exams that are no DICOM study (plain images grouped by name or folder) pass through the
PACS workflow harmlessly: signing one must not fail because its id is not a UID."""

from __future__ import annotations

from pathlib import Path

from core.pacs.inbox import StudyInbox
from core.pacs.workflow import Limits, PacsWorkflow
from core.store import Store


def test_an_exam_of_plain_images_is_never_a_retrieved_study(store: Store, tmp_path: Path
                                                            ) -> None:
    inbox = StudyInbox(tmp_path / "studies")
    (inbox.root / "1.2.3").mkdir(parents=True)
    (inbox.root / "1.2.3" / "1.2.3.4.dcm").write_bytes(b"DICM")
    flow = PacsWorkflow(config=None, store=store, inbox=inbox, results_root=tmp_path / "out",
                        limits=Limits(10**8, 10**8))

    assert flow.is_retrieved("1.2.3")
    assert not flow.is_retrieved("P7")  # an exam named by its files
    assert not flow.is_retrieved(str(tmp_path / "exam"))  # an exam grouped by folder
