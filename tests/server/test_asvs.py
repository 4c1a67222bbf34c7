"""OWASP ASVS 4.0 level 2 items of authentication (V2) and sessions (V3) that no other test
proves; docs/security.md points at these and at the others."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from server.db import migrate
from server.db.models import RefreshToken, User
from server.main import create_app
from tests.server import factories, pg


def test_2_1_2_and_2_1_3_long_passwords_work_and_are_never_truncated(client, admin_headers):
    for length in (64, 128, 1024):
        password = "p" * (length - 1) + "!"
        created = client.post(
            "/users",
            json={"username": f"long-{length}", "password": password},
            headers=admin_headers,
        )
        assert created.status_code == 201, created.text
        assert factories.login(client, f"long-{length}", password)["access_token"]
        if length > 72:  # bcrypt would ignore everything after byte 72; Argon2 must not
            truncated = client.post(
                "/auth/login", json={"username": f"long-{length}", "password": password[:72]}
            )
            assert truncated.status_code == 401


def test_2_4_1_and_2_4_2_passwords_are_stored_as_salted_argon2id(client, session, admin_headers):
    for name in ("same-a", "same-b"):
        response = client.post(
            "/users", json={"username": name, "password": factories.PASSWORD},
            headers=admin_headers,
        )  # fmt: skip
        assert response.status_code == 201
    hashes = session.scalars(
        select(User.password_hash).where(User.username.in_(["same-a", "same-b"]))
    ).all()

    assert all(h.startswith("$argon2id$") for h in hashes)
    assert len(set(hashes)) == 2  # one salt each: the same password, two hashes
    salts = [h.split("$")[4] for h in hashes]
    assert all(len(base64.b64decode(s + "==")) >= 16 for s in salts)  # >= 128 bits
    assert factories.PASSWORD not in "".join(hashes)


def test_2_5_4_a_new_server_has_no_account_at_all() -> None:
    url = pg.create_database("mammo_asvs")
    try:
        migrate.upgrade(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(User)).scalar() == 0
        engine.dispose()
    finally:
        pg.drop_database(url)


def test_3_1_1_a_token_in_the_url_is_never_accepted(client, radiologist):
    token = factories.login(client, radiologist.username)["access_token"]

    for name in ("access_token", "token", "authorization"):
        response = client.get("/users/me", params={name: token})
        assert response.status_code == 401, name


def test_3_2_1_and_3_2_2_every_login_gets_new_random_tokens(client, radiologist, session):
    pairs = [factories.login(client, radiologist.username) for _ in range(3)]

    assert len({p["access_token"] for p in pairs}) == 3
    assert len({p["refresh_token"] for p in pairs}) == 3
    for pair in pairs:
        raw = base64.urlsafe_b64decode(pair["refresh_token"] + "=" * 3)
        assert len(raw) * 8 >= 256
    families = session.scalars(select(RefreshToken.family_id)).all()
    assert len(set(families)) == 3  # a login never continues another login's session


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/redoc"])
def test_4_3_2_production_serves_no_documentation_or_schema(database_url, database, path):
    settings = factories.make_settings(database_url, environment="production", secret_key="s" * 48)
    with TestClient(create_app(settings, database=database)) as production:
        assert production.get(path).status_code == 404
