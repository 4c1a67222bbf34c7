"""Alembic scripts of the local store; run by :mod:`core.store.migration`, never imported."""
