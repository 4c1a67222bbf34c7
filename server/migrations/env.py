"""Alembic environment: always run with a connection given by server.db.migrate."""

from alembic import context

from server.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through `mammo-server migrate` (server.db.migrate).")

context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
