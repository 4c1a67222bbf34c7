"""Forged, tampered, expired and mis-signed access tokens are all refused alike."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.server import factories
from tests.server.factories import SECRET


def claims_for(user, **overrides):
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "iss": "mammo-server",
        "aud": "mammo-workstation",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_refused(client, token: str) -> None:
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_well_formed_token_is_accepted(client, radiologist):
    token = jwt.encode(claims_for(radiologist), SECRET, algorithm="HS256")
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_missing_or_malformed_authorization_is_refused(client):
    assert client.get("/users/me").status_code == 401
    assert client.get("/users/me", headers={"Authorization": "Bearer"}).status_code == 401
    assert_refused(client, "not-a-jwt")


def test_tampered_payload_is_refused(client, radiologist, admin):
    header, _, signature = factories.login(client, radiologist.username)["access_token"].split(".")
    forged = b64(json.dumps(claims_for(admin)).encode())
    assert_refused(client, f"{header}.{forged}.{signature}")


def test_alg_none_is_refused(client, admin):
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims_for(admin)).encode())
    assert_refused(client, f"{header}.{payload}.")


def test_other_hmac_algorithm_is_refused_even_with_the_right_secret(client, admin):
    assert_refused(client, jwt.encode(claims_for(admin), SECRET, algorithm="HS512"))


def test_rs256_token_is_refused(client, admin):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_refused(client, jwt.encode(claims_for(admin), key, algorithm="RS256"))


def test_key_confusion_signing_with_a_public_key_as_hmac_secret_is_refused(client, admin):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims_for(admin)).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert_refused(client, f"{header}.{payload}.{b64(signature)}")


def test_wrong_secret_is_refused(client, admin):
    assert_refused(client, jwt.encode(claims_for(admin), "another-secret" * 4, algorithm="HS256"))


def test_expired_token_is_refused(client, radiologist):
    past = int(time.time()) - 3600
    token = jwt.encode(claims_for(radiologist, iat=past - 900, exp=past), SECRET, "HS256")
    assert_refused(client, token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "someone-else"},
        {"aud": "another-app"},
        {"exp": None},
        {"jti": None},
        {"sub": None},
        {"role": None},
        {"sub": "not-a-number"},
    ],
    ids=["issuer", "audience", "no-exp", "no-jti", "no-sub", "no-role", "bad-sub"],
)
def test_tokens_with_wrong_or_missing_claims_are_refused(client, radiologist, overrides):
    assert_refused(client, jwt.encode(claims_for(radiologist, **overrides), SECRET, "HS256"))


def test_token_of_a_deleted_user_id_is_refused(client):
    class Ghost:
        id = 987654
        role = "admin"

    assert_refused(client, jwt.encode(claims_for(Ghost()), SECRET, "HS256"))


def test_disabling_a_user_refuses_their_access_and_refresh_tokens(
    client, radiologist, admin_headers
):
    tokens = factories.login(client, radiologist.username)

    response = client.patch(
        f"/users/{radiologist.username}", json={"is_active": False}, headers=admin_headers
    )

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_refused(client, tokens["access_token"])
    refresh = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
