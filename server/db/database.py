"""Engine and session factory, built once by the composition root and passed in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """Hands out sessions. Owns its engine when built from a URL.

    Parameters
    ----------
    bind:
        An :class:`Engine`, or a :class:`Connection` already inside a transaction (tests): each
        session then works in a savepoint of that transaction, so committing is harmless.
    """

    def __init__(self, bind: Engine | Connection, *, owns_engine: bool = False) -> None:
        self.bind = bind
        self._owns_engine = owns_engine
        if isinstance(bind, Connection):
            self._sessions = sessionmaker(
                bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
        else:
            self._sessions = sessionmaker(bind=bind, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 5, connect_timeout_s: int = 5) -> Database:
        """A pooled engine that checks connections before use, so the API recovers by itself
        after PostgreSQL restarts."""
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=10,
            connect_args={"connect_timeout": connect_timeout_s},
        )
        return cls(engine, owns_engine=True)

    def new_session(self) -> Session:
        """A session the caller closes (which rolls back what it did not commit)."""
        return self._sessions()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that is rolled back if not committed, and always closed."""
        session = self._sessions()
        try:
            yield session
        finally:
            session.close()

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.session() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self._owns_engine and isinstance(self.bind, Engine):
            self.bind.dispose()
