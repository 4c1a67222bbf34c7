"""Plain factories for server test data: users, reading payloads, logins."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.contracts import UserCreate
from server.db.models import User
from server.security.passwords import PasswordHasher
from server.services import users
from server.settings import ServerSettings

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-" + "x" * 60
HASHER = PasswordHasher()


def make_settings(database_url: str, **overrides: object) -> ServerSettings:
    """Development settings on the test database, with a known secret."""
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": SECRET,
        "environment": "development",
    }
    values.update(overrides)
    return ServerSettings(**values)  # type: ignore[arg-type]


def make_user(
    session: Session,
    username: str | None = None,
    *,
    role: str = "radiologist",
    password: str = PASSWORD,
    hasher: PasswordHasher = HASHER,
) -> User:
    """A user in the test database, committed (into the test's savepoint)."""
    data = UserCreate(
        username=username or f"user-{uuid.uuid4().hex[:8]}", password=password, role=role
    )
    return users.create_user(session, data, hasher=hasher, now=datetime.now(UTC))


def reading_payload(**overrides: Any) -> dict[str, Any]:
    """The JSON body of a ReadingCreate; ``image`` overrides merge into the image part."""
    image = {
        "pixel_sha256": hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        "width": 3328,
        "height": 4096,
        "laterality": "L",
        "view_position": "CC",
        "sop_instance_uid": "1.2.826.0.1.3680043.8.498.1",
        "study_instance_uid": "1.2.826.0.1.3680043.8.498",
    }
    image.update(overrides.pop("image", {}))
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "image": image,
        "score": 0.73,
        "label": "suspicious",
        "threshold": 0.5,
        "model_id": "densenet121-mil-1.0",
        "model_sha256": "ab" * 32,
        "engine": "onnx",
        "device": "cpu",
        "preprocessing_version": "1",
        "app_version": "0.1.0",
        "heatmap_peak": 0.91,
        "created_at": "2025-03-01T10:00:00+00:00",
        "agrees_with_model": None,
        "birads": None,
        "note": None,
        "signed_at": None,
        "amends_id": None,
    }
    payload.update(overrides)
    return payload


def signed(payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The same reading with the reader's decision, signed."""
    return {
        **payload,
        "agrees_with_model": True,
        "birads": 4,
        "note": "Spiculated mass, biopsy advised.",
        "signed_at": "2025-03-01T10:05:00+00:00",
        **overrides,
    }


def login(client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in through the API; returns the token pair as JSON."""
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
