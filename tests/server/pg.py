"""Throw-away PostgreSQL databases for tests and the bench (never the developer's own)."""

from __future__ import annotations

import os
import secrets

import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "MAMMO_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


class PostgresUnavailable(RuntimeError):
    pass


def _admin_connection():
    url = make_url(ADMIN_URL)
    try:
        connection = psycopg2.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database or "postgres",
            connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        raise PostgresUnavailable(
            f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)}: {exc}."
            " The server tests need a real PostgreSQL 15: start it (pg_ctlcluster 15 main start)"
            " or point MAMMO_TEST_POSTGRES_URL at one."
        ) from exc
    connection.autocommit = True
    return connection


def create_database(prefix: str = "mammo_test") -> str:
    """Create an empty database with a random name; returns its SQLAlchemy URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        connection.close()
