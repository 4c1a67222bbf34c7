"""Alembic environment of the local store.

At run time :func:`core.store.migration.migrate` passes an open connection in
``config.attributes["connection"]``; no ``alembic.ini`` is involved. For a developer writing a
new revision, a config with ``sqlalchemy.url`` set works too, e.g.::

    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", "core/store/migrations")
    cfg.set_main_option("sqlalchemy.url", "sqlite:///scratch.sqlite3")
    command.upgrade(cfg, "head")
    command.revision(cfg, "describe the change", autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from core.store.tables import Base


def _run(connection: Connection) -> None:
    # Batch mode: SQLite cannot ALTER most things, so Alembic rebuilds tables instead.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url or "sqlite://")
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


_main()
