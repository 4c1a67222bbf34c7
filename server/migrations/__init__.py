"""Alembic migrations, run with ``mammo-server migrate`` (see server.db.migrate)."""
