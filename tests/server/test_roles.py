"""Who may do what, route by route (OWASP ASVS V4).

One table names every route of the server and who may call it. Each route is then tried
without a token, with a forged one, as a radiologist and as an administrator. Every route that
touches readings also has a probe across readers: a radiologist never reads or changes
another's readings or decisions, and an administrator, who may read them all, cannot sign one
as its reader. A route missing from a table fails the first tests, so a new route cannot slip
in without saying who may call it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import Reading
from server.security.passwords import PasswordHasher
from server.security.tokens import TokenCodec
from tests.server import factories
from tests.server.factories import SECRET, reading_payload, signed

Access = Literal["anyone", "user", "admin"]


@dataclass(frozen=True)
class World:
    """Two radiologists and an admin, logged in, and one unsigned reading of the second
    radiologist (``theirs``)."""

    client: TestClient
    me: dict[str, str]
    them: dict[str, str]
    admin: dict[str, str]
    admin_id: int
    my_name: str
    their_name: str
    theirs: dict[str, Any]
    refresh_token: str


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the OpenAPI schema writes it
    access: Access
    call: Callable[[World], tuple[str, dict[str, Any]]]  # the URL and httpx arguments

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _new_reading(_: World) -> tuple[str, dict[str, Any]]:
    payload = reading_payload()
    return f"/readings/{payload['id']}", {"json": payload}


def _new_outcome(_: World) -> tuple[str, dict[str, Any]]:
    outcome = {"id": str(uuid.uuid4()), "exam_key": "1.2.3", "breast": "L",
               "outcome": "benign", "pixel_sha256s": ["ab" * 32],
               "recorded_at": "2025-03-02T10:00:00+00:00"}
    return f"/outcomes/{outcome['id']}", {"json": outcome}


ROUTES = [
    Route("POST", "/auth/login", "anyone", lambda w: (
        "/auth/login", {"json": {"username": w.my_name, "password": factories.PASSWORD}})),
    Route("POST", "/auth/refresh", "anyone", lambda w: (
        "/auth/refresh", {"json": {"refresh_token": w.refresh_token}})),
    Route("POST", "/auth/logout", "user", lambda w: ("/auth/logout", {})),
    Route("GET", "/users/me", "user", lambda w: ("/users/me", {})),
    Route("GET", "/users", "admin", lambda w: ("/users", {})),
    Route("POST", "/users", "admin", lambda w: ("/users", {"json": {
        "username": f"new-{uuid.uuid4().hex[:8]}", "password": factories.PASSWORD}})),
    Route("PATCH", "/users/{username}", "admin", lambda w: (
        f"/users/{w.their_name}", {"json": {"role": "radiologist"}})),
    Route("PUT", "/readings/{reading_id}", "user", _new_reading),
    Route("GET", "/readings/{reading_id}", "user", lambda w: (f"/readings/{uuid.uuid4()}", {})),
    Route("POST", "/readings/batch", "user", lambda w: (
        "/readings/batch", {"json": {"readings": [reading_payload()]}})),
    Route("GET", "/readings", "user", lambda w: ("/readings", {})),
    Route("GET", "/stats", "user", lambda w: ("/stats", {})),
    Route("GET", "/stats/agreement", "user", lambda w: ("/stats/agreement", {})),
    Route("PUT", "/outcomes/{outcome_id}", "user", lambda w: _new_outcome(w)),
    Route("GET", "/outcomes", "user", lambda w: ("/outcomes", {})),
    Route("GET", "/audit", "admin", lambda w: ("/audit", {})),
    Route("GET", "/models/approved", "user", lambda w: ("/models/approved", {})),
    Route("GET", "/models/files/{sha256}", "user", lambda w: (f"/models/files/{'0' * 64}", {})),
    Route("POST", "/models/{version_id}/reports", "user", lambda w: (
        "/models/999999/reports", {"json": {"outcome": "installed"}})),
    Route("GET", "/healthz", "anyone", lambda w: ("/healthz", {})),
    Route("GET", "/readyz", "anyone", lambda w: ("/readyz", {})),
]  # fmt: skip

CALLERS = [r for r in ROUTES if r.access != "anyone"]
ADMIN_ONLY = [r for r in ROUTES if r.access == "admin"]
EVERYONE = [r for r in ROUTES if r.access != "admin"]


CHEAP = PasswordHasher(time_cost=1, memory_kib=8)  # the login route is not what is tested


@pytest.fixture
def world(client, session: Session) -> World:
    me, them, admin = (
        factories.make_user(session, name, role=role, hasher=CHEAP)
        for name, role in (("rad-me", "radiologist"), ("rad-them", "radiologist"),
                           ("admin-it", "admin"))
    )  # fmt: skip
    codec = TokenCodec(
        secret=SECRET, issuer="mammo-server", audience="mammo-workstation",
        lifetime=timedelta(minutes=15),
    )  # fmt: skip

    def bearer(user) -> dict[str, str]:
        token = codec.issue(user_id=user.id, role=user.role, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {token}"}

    theirs = reading_payload()
    stored = client.put(f"/readings/{theirs['id']}", json=theirs, headers=bearer(them))
    assert stored.status_code == 201, stored.text
    return World(
        client=client,
        me=bearer(me),
        them=bearer(them),
        admin=bearer(admin),
        admin_id=admin.id,
        my_name=me.username,
        their_name=them.username,
        theirs=theirs,
        refresh_token=factories.login(client, me.username)["refresh_token"],
    )


def request(world: World, route: Route, headers: dict[str, str] | None = None):
    url, kwargs = route.call(world)
    return world.client.request(route.method, url, headers=headers or {}, **kwargs)


def test_every_route_of_the_server_is_in_the_table(client) -> None:
    served = {
        (method.upper(), path)
        for path, operations in client.app.openapi()["paths"].items()
        for method in operations
    }
    assert served == {(r.method, r.path) for r in ROUTES}


def test_every_route_that_touches_readings_has_a_probe_across_readers() -> None:
    touching = {str(r) for r in ROUTES if r.path.startswith(("/readings", "/stats"))}
    assert touching == set(ACROSS_READERS)


@pytest.mark.parametrize("route", CALLERS, ids=str)
@pytest.mark.parametrize("token", ["none", "garbage", "alg-none", "expired", "other-secret"])
def test_a_route_for_users_refuses_a_caller_without_a_valid_token(world, route, token):
    claims = {
        "sub": str(world.admin_id), "role": "admin", "jti": uuid.uuid4().hex,
        "iss": "mammo-server", "aud": "mammo-workstation",
        "iat": 1_700_000_000, "exp": 4_000_000_000,
    }  # fmt: skip
    forged = {
        "none": None,
        "garbage": "not.a.token",
        "alg-none": jwt.encode(claims, None, algorithm="none"),
        "expired": jwt.encode({**claims, "exp": 1_700_000_600}, SECRET, algorithm="HS256"),
        "other-secret": jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256"),
    }[token]
    headers = {} if forged is None else {"Authorization": f"Bearer {forged}"}

    response = request(world, route, headers)

    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("route", ADMIN_ONLY, ids=str)
def test_a_radiologist_is_refused_every_admin_route(world, route) -> None:
    response = request(world, route, world.me)

    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", ADMIN_ONLY, ids=str)
def test_an_admin_may_use_every_admin_route(world, route) -> None:
    assert request(world, route, world.admin).status_code < 400


@pytest.mark.parametrize("route", EVERYONE, ids=str)
def test_a_radiologist_may_use_every_route_for_users(world, route) -> None:
    response = request(world, route, world.me)

    assert response.status_code not in (401, 403), response.text


# --- across readers -------------------------------------------------------------------------


def _stored(session: Session, reading_id: str) -> Reading:
    session.expire_all()
    reading = session.scalar(select(Reading).where(Reading.id == uuid.UUID(reading_id)))
    assert reading is not None
    return reading


def _unchanged(world: World, session: Session) -> None:
    reading = _stored(session, world.theirs["id"])
    assert reading.user.username == world.their_name
    assert (reading.signed_at, reading.agrees_with_model, reading.birads, reading.note) == (
        None, None, None, None,
    )  # fmt: skip


def put_theirs(world: World, session: Session, caller: dict[str, str]) -> None:
    """Signing another reader's reading, or changing it, is a conflict that shows nothing."""
    body = signed(world.theirs, agrees_with_model=False, birads=1, note="overruled")
    response = world.client.put(f"/readings/{body['id']}", json=body, headers=caller)

    assert response.status_code == 409, response.text
    assert response.json()["error"]["detail"] is None
    assert world.theirs["image"]["pixel_sha256"] not in response.text
    _unchanged(world, session)


def put_an_amendment_of_theirs(world: World, session: Session, caller: dict[str, str]) -> None:
    """A decision that amends another reader's reading is refused and nothing is stored."""
    body = signed(reading_payload(), amends_id=world.theirs["id"])
    response = world.client.put(f"/readings/{body['id']}", json=body, headers=caller)

    assert response.status_code == 422, response.text
    assert world.client.get(f"/readings/{body['id']}", headers=world.admin).status_code == 404
    _unchanged(world, session)


def batch_on_theirs(world: World, session: Session, caller: dict[str, str]) -> None:
    """In a batch: the same two attempts, each refused alone, revealing nothing."""
    sign = signed(world.theirs, note="overruled")
    amend = signed(reading_payload(), amends_id=world.theirs["id"])
    response = world.client.post(
        "/readings/batch", json={"readings": [sign, amend]}, headers=caller
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["conflict", "rejected"]
    assert results[0]["stored"] is None
    assert world.theirs["image"]["pixel_sha256"] not in response.text
    _unchanged(world, session)


def read_theirs(world: World, session: Session, caller: dict[str, str]) -> None:
    response = world.client.get(f"/readings/{world.theirs['id']}", headers=caller)

    assert response.status_code == 404, response.text
    assert world.theirs["image"]["pixel_sha256"] not in response.text


def list_theirs(world: World, session: Session, caller: dict[str, str]) -> None:
    asked = world.client.get("/readings", params={"user": world.their_name}, headers=caller)
    own = world.client.get("/readings", headers=caller)

    assert asked.status_code == 403, asked.text
    assert own.status_code == 200 and own.json()["data"] == []


def stats_of_theirs(world: World, session: Session, caller: dict[str, str]) -> None:
    for group_by in ("day", "user", "model"):
        response = world.client.get("/stats", params={"group_by": group_by}, headers=caller)
        assert response.status_code == 200, response.text
        assert response.json()["rows"] == [], group_by


def agreement_of_theirs(world: World, session: Session, caller: dict[str, str]) -> None:
    body = signed(reading_payload(), birads=4)
    world.client.put(f"/readings/{body['id']}", json=body, headers=world.them)

    response = world.client.get("/stats/agreement", headers=caller)

    assert response.status_code == 200, response.text
    assert response.json() == {"rows": [], "disagreements": []}


ACROSS_READERS: dict[str, Callable[[World, Session, dict[str, str]], None]] = {
    "PUT /readings/{reading_id}": put_theirs,
    "GET /readings/{reading_id}": read_theirs,
    "POST /readings/batch": batch_on_theirs,
    "GET /readings": list_theirs,
    "GET /stats": stats_of_theirs,
    "GET /stats/agreement": agreement_of_theirs,
}


@pytest.mark.parametrize("probe", ACROSS_READERS.values(), ids=ACROSS_READERS.keys())
def test_a_radiologist_never_reads_or_changes_another_readers_readings(world, session, probe):
    probe(world, session, world.me)


@pytest.mark.parametrize("probe", [put_theirs, put_an_amendment_of_theirs, batch_on_theirs])
def test_an_admin_cannot_sign_or_amend_a_reading_as_its_reader(world, session, probe) -> None:
    probe(world, session, world.admin)


def test_a_radiologist_cannot_amend_another_readers_reading(world, session) -> None:
    put_an_amendment_of_theirs(world, session, world.me)


def test_a_reading_an_admin_sends_is_the_admins_own_whoever_it_names(world, session) -> None:
    body = reading_payload()
    named = world.client.put(
        f"/readings/{body['id']}", json={**body, "reader": world.their_name}, headers=world.admin
    )
    sent = world.client.put(f"/readings/{body['id']}", json=signed(body), headers=world.admin)

    assert named.status_code == 422  # the reader is never taken from the body
    assert sent.status_code == 201 and sent.json()["reader"] != world.their_name
    assert _stored(session, body["id"]).user.role == "admin"


def test_an_admin_reads_every_readers_readings(world) -> None:
    one = world.client.get(f"/readings/{world.theirs['id']}", headers=world.admin)
    listed = world.client.get("/readings", params={"user": world.their_name}, headers=world.admin)

    assert one.status_code == 200 and one.json()["reader"] == world.their_name
    assert [r["id"] for r in listed.json()["data"]] == [world.theirs["id"]]
