"""The PACS audit trail: appended to, read newest first, never changed."""

from __future__ import annotations

import pytest

from core.errors import StoreError
from core.store import Store, UserId
from core.store.pacs_log import NewPacsSend


def entry(user_id: UserId, **changes: object) -> NewPacsSend:
    values: dict[str, object] = dict(
        user_id=user_id, exam_id="1.2.3", sop_instance_uid="1.2.3.4",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.88.33", kind="report",
        destination="PACS at pacs:104", outcome="sent", signed=True, path="/results/sr.dcm")
    values.update(changes)
    return NewPacsSend(**values)  # type: ignore[arg-type]


def test_every_attempt_is_kept_newest_first(store: Store) -> None:
    reader = store.ensure_user("reader")
    store.pacs_log.record([entry(reader, outcome="failed", detail="PACS down")])
    store.pacs_log.record([entry(reader, outcome="sent")])
    history = store.pacs_log.history(exam_id="1.2.3")
    assert [(h.outcome, h.detail, h.username) for h in history] == [
        ("sent", "", "reader"), ("failed", "PACS down", "reader")]
    assert store.pacs_log.history(exam_id="9.9") == []


def test_delivered_names_what_a_destination_accepted(store: Store) -> None:
    reader = store.ensure_user("reader")
    store.pacs_log.record([entry(reader, sop_instance_uid="1.1", outcome="failed"),
                           entry(reader, sop_instance_uid="1.2", outcome="sent"),
                           entry(reader, sop_instance_uid="1.3", outcome="saved",
                                 destination="/exports")])
    assert store.pacs_log.delivered(["1.1", "1.2", "1.3"], destination="PACS at pacs:104") \
        == {"1.2"}
    assert store.pacs_log.delivered(["1.3"], destination="/exports") == {"1.3"}


def test_an_entry_of_an_unknown_user_writes_nothing(store: Store) -> None:
    reader = store.ensure_user("reader")
    with pytest.raises(StoreError):
        store.pacs_log.record([entry(reader), entry(UserId(999))])
    assert store.pacs_log.history() == []
