"""Account administration and the caller's own account."""

from __future__ import annotations

from tests.server import factories


def test_me_shows_the_caller(client, rad_headers, radiologist):
    me = client.get("/users/me", headers=rad_headers).json()
    assert me["username"] == radiologist.username
    assert me["role"] == "radiologist"
    assert "password" not in str(me).lower()


def test_an_admin_creates_a_user_who_can_then_log_in(client, admin_headers):
    body = {"username": "new-rad", "password": "a long enough password", "role": "radiologist"}

    response = client.post("/users", json=body, headers=admin_headers)

    assert response.status_code == 201
    assert response.json()["is_active"] is True
    factories.login(client, "new-rad", "a long enough password")
    listed = client.get("/users", headers=admin_headers).json()["data"]
    assert "new-rad" in [u["username"] for u in listed]


def test_a_taken_username_is_a_conflict(client, admin_headers, radiologist):
    body = {"username": radiologist.username, "password": "a long enough password"}
    response = client.post("/users", json=body, headers=admin_headers)
    assert response.status_code == 409


def test_short_passwords_are_refused(client, admin_headers):
    body = {"username": "weak", "password": "short"}
    assert client.post("/users", json=body, headers=admin_headers).status_code == 422


def test_a_radiologist_cannot_use_admin_routes(client, rad_headers, other_radiologist):
    body = {"username": "sneaky", "password": "a long enough password", "role": "admin"}
    assert client.post("/users", json=body, headers=rad_headers).status_code == 403
    assert client.get("/users", headers=rad_headers).status_code == 403
    patch = client.patch(
        f"/users/{other_radiologist.username}", json={"is_active": False}, headers=rad_headers
    )
    assert patch.status_code == 403
    assert client.get("/audit", headers=rad_headers).status_code == 403


def test_a_role_change_takes_effect_on_the_next_request(
    client, rad_headers, radiologist, admin_headers
):
    assert client.get("/users", headers=rad_headers).status_code == 403

    client.patch(f"/users/{radiologist.username}", json={"role": "admin"}, headers=admin_headers)

    assert client.get("/users", headers=rad_headers).status_code == 200


def test_an_admin_cannot_lock_themselves_out(client, admin, admin_headers):
    for change in ({"is_active": False}, {"role": "radiologist"}):
        response = client.patch(f"/users/{admin.username}", json=change, headers=admin_headers)
        assert response.status_code == 422


def test_changing_an_unknown_user_is_a_404(client, admin_headers):
    response = client.patch("/users/nobody", json={"is_active": False}, headers=admin_headers)
    assert response.status_code == 404


def test_a_re_enabled_user_can_log_in_again(client, radiologist, admin_headers):
    path = f"/users/{radiologist.username}"
    client.patch(path, json={"is_active": False}, headers=admin_headers)
    client.patch(path, json={"is_active": True}, headers=admin_headers)

    factories.login(client, radiologist.username)
