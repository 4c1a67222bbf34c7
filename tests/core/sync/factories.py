"""Readings and decisions in a local store, for sync tests."""

from __future__ import annotations

from core.store import ReadingRecord, Store
from tests.core.store.factories import make_image_meta, make_new_reading


def reading(store: Store, username: str = "dr-a", *, n: int = 1, **overrides) -> ReadingRecord:
    user_id = store.ensure_user(username)
    image_id = store.add_image(make_image_meta(n))
    return store.add_reading(make_new_reading(image_id=image_id, user_id=user_id, **overrides))


def readings(store: Store, count: int, username: str = "dr-a") -> list[ReadingRecord]:
    return [reading(store, username, n=n) for n in range(count)]


def sign(store: Store, reading_id: str, username: str = "dr-a", **overrides):
    values = {"agrees_with_model": True, "birads": 4, "note": "spiculated mass"}
    values.update(overrides)
    return store.add_feedback(reading_id=reading_id, user_id=store.ensure_user(username), **values)
