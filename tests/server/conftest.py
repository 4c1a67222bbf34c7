"""Fixtures for the server tests: one fresh PostgreSQL database per session, migrated once;
each test runs in a transaction that is rolled back, so tests never see each other's rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session

from server.db import migrate
from server.db.database import Database
from server.main import create_app
from server.settings import ServerSettings
from tests.server import factories, pg


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    try:
        url = pg.create_database()
    except pg.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def database(connection: Connection) -> Database:
    return Database(connection)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> ServerSettings:
    return factories.make_settings(database_url)


@pytest.fixture
def client(settings: ServerSettings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=database)) as client:
        yield client


@pytest.fixture
def radiologist(session: Session):
    return factories.make_user(session, "rad-one")


@pytest.fixture
def other_radiologist(session: Session):
    return factories.make_user(session, "rad-two")


@pytest.fixture
def admin(session: Session):
    return factories.make_user(session, "admin-one", role="admin")


@pytest.fixture
def rad_headers(client: TestClient, radiologist) -> dict[str, str]:
    return factories.bearer(factories.login(client, radiologist.username))


@pytest.fixture
def admin_headers(client: TestClient, admin) -> dict[str, str]:
    return factories.bearer(factories.login(client, admin.username))
