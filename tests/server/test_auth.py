"""Logins, refresh-token rotation, logout, throttling and password rehashing."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from server.db.models import AuditEvent, RefreshToken, User
from server.main import create_app
from server.security.passwords import PasswordHasher
from tests.server import factories


def test_login_gives_tokens_that_open_the_api(client, radiologist):
    tokens = factories.login(client, radiologist.username)

    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get("/users/me", headers=factories.bearer(tokens))
    assert me.status_code == 200
    assert me.json()["username"] == radiologist.username


def test_unknown_user_and_wrong_password_get_the_same_answer(client, radiologist):
    unknown = client.post("/auth/login", json={"username": "nobody", "password": "whatever"})
    wrong = client.post(
        "/auth/login", json={"username": radiologist.username, "password": "not it"}
    )

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "not_authenticated"


def test_unknown_user_costs_about_as_long_as_a_wrong_password(settings, database, session):
    user = factories.make_user(session)
    app = create_app(
        settings.model_copy(
            update={"login_max_failures": 1000, "login_max_failures_per_address": 1000}
        ),
        database=database,
    )

    def timed(username: str) -> float:
        start = time.perf_counter()
        response = client.post("/auth/login", json={"username": username, "password": "nope"})
        assert response.status_code == 401
        return time.perf_counter() - start

    with TestClient(app) as client:
        timed("warm-up")
        unknown = statistics.median(timed(f"ghost-{i}") for i in range(7))
        wrong = statistics.median(timed(user.username) for _ in range(7))

    # Without the dummy hash an unknown user answers many times faster than a real one.
    assert 0.5 < unknown / wrong < 2.0, (unknown, wrong)


def test_disabled_user_cannot_log_in_and_looks_like_a_wrong_password(client, session):
    user = factories.make_user(session)
    user.is_active = False
    session.commit()

    response = client.post(
        "/auth/login", json={"username": user.username, "password": factories.PASSWORD}
    )

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Wrong username or password."


def test_repeated_failures_for_one_account_are_throttled(client, radiologist):
    for _ in range(5):
        bad = {"username": radiologist.username, "password": "guess"}
        assert client.post("/auth/login", json=bad).status_code == 401

    right = {"username": radiologist.username, "password": factories.PASSWORD}
    response = client.post("/auth/login", json=right)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(response.headers["Retry-After"]) <= 300


def test_failures_from_one_address_are_throttled_across_accounts(settings, database):
    app = create_app(
        settings.model_copy(update={"login_max_failures_per_address": 3}), database=database
    )
    with TestClient(app) as client:
        for i in range(3):
            body = {"username": f"spray-{i}", "password": "guess"}
            assert client.post("/auth/login", json=body).status_code == 401
        response = client.post("/auth/login", json={"username": "other", "password": "x"})

    assert response.status_code == 429
    assert "Retry-After" in response.headers


def test_throttling_is_counted_in_the_database_so_processes_agree(settings, database, radiologist):
    first, second = (TestClient(create_app(settings, database=database)) for _ in range(2))
    bad = {"username": radiologist.username, "password": "guess"}
    with first, second:
        for i in range(5):
            assert (first if i % 2 else second).post("/auth/login", json=bad).status_code == 401
        assert second.post("/auth/login", json=bad).status_code == 429


def test_login_rehashes_a_password_made_with_old_parameters(client, session):
    old = PasswordHasher(time_cost=1, memory_kib=8192)
    user = factories.make_user(session, hasher=old)
    assert "m=8192,t=1" in user.password_hash

    factories.login(client, user.username)

    session.expire_all()
    refreshed = session.get(User, user.id)
    assert "m=19456,t=2,p=1" in refreshed.password_hash
    assert refreshed.password_hash.startswith("$argon2id$")


def test_refresh_rotates_the_token(client, radiologist):
    tokens = factories.login(client, radiologist.username)

    response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 200
    new = response.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get("/users/me", headers=factories.bearer(new)).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, radiologist):
    stolen = factories.login(client, radiologist.username)["refresh_token"]
    legit = client.post("/auth/refresh", json={"refresh_token": stolen}).json()["refresh_token"]

    replay = client.post("/auth/refresh", json={"refresh_token": stolen})
    after = client.post("/auth/refresh", json={"refresh_token": legit})

    assert replay.status_code == 401
    assert after.status_code == 401, "the legitimate branch must be revoked too"


def test_refresh_tokens_are_stored_hashed(client, radiologist, session):
    token = factories.login(client, radiologist.username)["refresh_token"]

    stored = session.scalars(select(RefreshToken.token_hash)).all()

    assert token not in stored
    assert len(stored) == 1 and len(stored[0]) == 64


def test_logout_ends_access_and_refresh(client, radiologist):
    tokens = factories.login(client, radiologist.username)
    headers = factories.bearer(tokens)

    response = client.post(
        "/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )

    assert response.status_code == 204
    assert client.get("/users/me", headers=headers).status_code == 401
    refresh = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


def test_logins_and_failures_are_audited(client, radiologist, session):
    factories.login(client, radiologist.username)
    client.post("/auth/login", json={"username": radiologist.username, "password": "nope"})

    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_username == radiologist.username)
    ).all()

    assert "login" in actions and "login_failed" in actions


def test_an_expired_refresh_token_is_refused(settings, database, radiologist):
    long_ago = datetime.now(UTC) - timedelta(days=15)
    with TestClient(create_app(settings, database=database, clock=lambda: long_ago)) as past:
        tokens = factories.login(past, radiologist.username)
    with TestClient(create_app(settings, database=database)) as client:
        response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 401
