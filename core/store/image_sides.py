"""The breast and view readers said pictures show. Reached through :attr:`Store.image_sides`.

Where neither the file nor its name tells an image's side or view, the app asks the reader
once; the answer is kept by picture (pixel hash), so the same picture opened again, under any
file name, is hung where the reader put it. A later answer replaces the earlier one. Local
only: nothing here is sent to the server.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import StoreError
from core.store.records import UserId
from core.store.tables import ImageSide, User

SessionFactory = Callable[..., AbstractContextManager[Session]]
StatedSide = tuple[str | None, str | None]
"""(laterality ``L``/``R`` or None, view such as ``CC`` or None)."""

_MAX_VIEW = 16


class SideBook:
    """Keeps and finds stated sides. Built by :class:`core.store.Store`."""

    def __init__(self, session: SessionFactory, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def state(self, pixel_sha256: str, *, laterality: str | None, view: str | None,
              user_id: UserId) -> None:
        """Keep what the reader said the picture shows (None: not said; an earlier answer
        for that part stays).

        Raises:
            StoreError: a laterality other than ``L``/``R``, an over-long view, an unknown
                user.
        """
        if laterality not in (None, "L", "R"):
            raise StoreError(f"{laterality} is not a breast side (L or R); it was not saved.")
        if view is not None and not 0 < len(view) <= _MAX_VIEW:
            raise StoreError("That view name is not one the workstation knows; not saved.")
        with self._session(write=True) as session:
            if session.get(User, user_id) is None:
                raise StoreError("The side names a user that is not in the local store.")
            row = session.get(ImageSide, pixel_sha256)
            if row is None:
                session.add(ImageSide(pixel_sha256=pixel_sha256, laterality=laterality,
                                      view=view, user_id=user_id, stated_at=self._clock()))
                return
            row.laterality = laterality or row.laterality
            row.view = view or row.view
            row.user_id = user_id
            row.stated_at = self._clock()

    def stated(self, pixel_sha256s: Collection[str]) -> dict[str, StatedSide]:
        """What readers said the pictures show, by pixel hash (pictures never asked about are
        left out)."""
        wanted = set(pixel_sha256s)
        if not wanted:
            return {}
        with self._session() as session:
            rows = session.execute(select(ImageSide).where(ImageSide.pixel_sha256.in_(wanted)))
            return {row.pixel_sha256: (row.laterality, row.view) for (row,) in rows}
