from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import Store
from tests.core.store.factories import (
    T0,
    add_reading,
    make_image_meta,
    make_new_reading,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_same_file_and_pixels_give_the_same_image(store: Store) -> None:
    first = store.add_image(make_image_meta(1))

    assert store.add_image(make_image_meta(1)) == first
    assert store.add_image(make_image_meta(1, source_path=Path("/data/case001/LCC.dcm"))) == first
    assert store.add_image(make_image_meta(1, pixel_sha256="f" * 64)) != first
    assert store.add_image(make_image_meta(1, source_path="/copy/LCC.dcm")) != first


def test_reading_round_trips_with_all_provenance_newest_first(store: Store) -> None:
    user_id = store.ensure_user("alice")
    image_id = store.add_image(make_image_meta(7))
    new = make_new_reading(image_id=image_id, user_id=user_id)
    older = store.add_reading(new)
    newer = add_reading(store, n=8, label="Negative", score=0.1, heatmap_peak_x=None)

    listed = store.list_readings()

    assert [r.id for r in listed] == [newer.id, older.id]
    assert listed[1] == older
    stored = listed[1]
    expected = asdict(new)
    expected.pop("id")
    assert {key: getattr(stored, key) for key in expected} == expected
    assert stored.source_path == "/data/case007/LCC.dcm"
    assert stored.pixel_sha256 == f"{7:064x}"
    assert stored.username == "alice"
    assert stored.sync_state == "pending"
    assert stored.feedback is None
    assert stored.created_at.tzinfo is not None
    assert len(stored.id) == 36
    assert listed[0].heatmap_peak_x is None


def test_readings_made_at_the_same_instant_list_last_written_first(store_path: Path) -> None:
    with Store.open(store_path, clock=lambda: T0) as store:
        ids = [add_reading(store, n=n).id for n in range(5)]
        assert [r.id for r in store.list_readings()] == ids[::-1]


def test_reading_with_a_given_id_is_stored_once(store: Store) -> None:
    first = add_reading(store, id="0c0d6a3e-6f1e-4c5d-9a51-9d1c8a5e2f10")
    with pytest.raises(StoreError, match="already stored"):
        add_reading(store, id=first.id)
    assert store.count_readings() == 1
    assert store.count_pending_outbox() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", "Maybe", "Unknown label"),
        ("score", 1.5, "invalid score"),
        ("score", float("nan"), "invalid score"),
        ("threshold", -0.1, "invalid threshold"),
    ],
)
def test_invalid_model_output_is_refused(
    store: Store, field: str, value: object, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        add_reading(store, **{field: value})
    assert store.count_readings() == 0


def test_reading_of_unknown_image_is_refused(store: Store) -> None:
    user_id = store.ensure_user("alice")
    with pytest.raises(StoreError, match="not in the local store"):
        store.add_reading(make_new_reading(image_id=999, user_id=user_id))  # type: ignore[arg-type]
    assert store.count_pending_outbox() == 0


def test_list_readings_filters(store: Store) -> None:
    alice_pos = add_reading(store, n=1, username="alice", label="Positive")
    bob_neg = add_reading(store, n=2, username="bob", label="Negative", score=0.2)
    alice_neg = add_reading(store, n=3, username="alice", label="Negative", score=0.3)
    alice_id = store.ensure_user("alice")

    def ids(**filters: object) -> list[str]:
        return [r.id for r in store.list_readings(**filters)]  # type: ignore[arg-type]

    assert ids(user_id=alice_id) == [alice_neg.id, alice_pos.id]
    assert ids(label="Negative") == [alice_neg.id, bob_neg.id]
    assert ids(user_id=alice_id, label="Positive") == [alice_pos.id]
    assert ids(since=bob_neg.created_at) == [alice_neg.id, bob_neg.id]
    assert ids(since=alice_neg.created_at + timedelta(microseconds=1)) == []
    assert ids(text="CASE002") == [bob_neg.id]
    assert ids(text="BOB") == [bob_neg.id]
    assert ids(text="%") == []
    assert ids(limit=2) == [alice_neg.id, bob_neg.id]
    with pytest.raises(ValueError, match="timezone-aware"):
        store.list_readings(since=T0.replace(tzinfo=None))


def test_latest_readings_of_finds_a_readers_newest_reading_of_each_picture(
        store: Store) -> None:
    alice = store.ensure_user("alice")
    first = add_reading(store, n=1, username="alice")
    copy = store.add_image(make_image_meta(1, source_path="/copy/renamed.dcm"))  # same pixels
    rescore = store.add_reading(make_new_reading(image_id=copy, user_id=alice,
                                                 rescore_of=first.id))
    add_reading(store, n=2, username="bob")

    found = store.latest_readings_of([f"{1:064x}", f"{2:064x}", "f" * 64], user_id=alice)

    assert list(found) == [f"{1:064x}"]  # bob's picture and an unknown one are not alice's
    assert found[f"{1:064x}"].id == rescore.id
    assert found[f"{1:064x}"].rescore_of == first.id
    assert store.get_reading(first.id).rescore_of is None
    assert store.latest_readings_of([], user_id=alice) == {}


def test_rescore_of_an_unknown_reading_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="earlier reading that is not in the local store"):
        add_reading(store, rescore_of="no-such-reading")
    assert store.count_readings() == 0


def test_get_reading(store: Store) -> None:
    reading = add_reading(store)
    assert store.get_reading(reading.id) == reading
    assert store.get_reading("no-such-reading") is None  # type: ignore[arg-type]


def test_reading_survives_a_crash_right_after_add_reading(store_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from core.store import Store
        from tests.core.store.factories import add_reading

        store = Store.open(Path({str(store_path)!r}))
        reading = add_reading(store)
        print(reading.id, flush=True)
        os._exit(3)  # no close(), no interpreter cleanup: as if the app crashed
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 3, result.stderr
    assert Path(f"{store_path}-wal").exists()

    with Store.open(store_path) as store:
        assert [r.id for r in store.list_readings()] == [result.stdout.strip()]
        assert store.count_pending_outbox() == 1


def test_reading_is_visible_to_a_second_store_without_close(store_path: Path) -> None:
    first = Store.open(store_path)
    reading = add_reading(first)
    del first  # dropped without close()

    with Store.open(store_path) as second:
        assert second.get_reading(reading.id) == reading


def test_readings_from_many_threads_are_all_stored(store: Store) -> None:
    user_id = store.ensure_user("alice")
    image_id = store.add_image(make_image_meta(1))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                store.add_reading(make_new_reading(image_id=image_id, user_id=user_id))
                store.list_readings(limit=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert store.count_readings() == 80
    assert store.count_pending_outbox() == 80


def test_closed_store_refuses_work(store_path: Path) -> None:
    store = Store.open(store_path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_readings()


def test_a_path_that_is_not_utf8_is_kept_as_the_file_system_gave_it(store: Store) -> None:
    """A Latin-1 file name on a UTF-8 system reaches Python with lone surrogates, which SQLite
    text cannot hold: the reading is kept all the same, under the very same path."""
    latin1 = os.fsdecode(b"/export/caf\xe9/LCC.dcm")
    user_id = store.ensure_user("alice")
    image_id = store.add_image(make_image_meta(3, source_path=latin1))
    store.add_reading(make_new_reading(image_id=image_id, user_id=user_id))

    assert store.add_image(make_image_meta(3, source_path=latin1)) == image_id
    assert [r.source_path for r in store.list_readings()] == [latin1]
    assert [r.source_path for r in store.list_readings(text="LCC")] == [latin1]
    assert os.fsencode(store.list_readings()[0].source_path) == b"/export/caf\xe9/LCC.dcm"
