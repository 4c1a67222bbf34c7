"""An in-memory stand-in for the central server behind ``httpx.MockTransport``, for fast tests
of the sync client's logic. It speaks the real wire contracts; the real server is exercised
in ``tests/e2e/test_sync_*.py``."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx

from core.contracts import (
    ErrorBody,
    ErrorPublic,
    ReadingBatchCreate,
    ReadingBatchItem,
    ReadingBatchPublic,
    ReadingCreate,
    ReadingPublic,
    ReadingsPublic,
    TokenPair,
    UserPublic,
)

DECISION_FIELDS = {"agrees_with_model", "birads", "note", "signed_at"}
PASSWORD = "right password"


def _error(status: int, message: str) -> httpx.Response:
    body = ErrorPublic(error=ErrorBody(code="error", message=message))
    return httpx.Response(status, json=body.model_dump(mode="json"))


@dataclass
class FakeServer:
    """Readings by id, one user, tokens that rotate; knobs to make it misbehave."""

    username: str = "dr-a"
    password: str = PASSWORD
    readings: dict[str, ReadingPublic] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    batches: list[list[str]] = field(default_factory=list)
    unavailable: bool = False
    reject_ids: set[str] = field(default_factory=set)
    max_batch: int | None = None
    before_batch: Callable[[int], None] | None = None
    _counter: itertools.count = field(default_factory=itertools.count)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.unavailable:
            return _error(503, "database unavailable")
        route = (request.method, request.url.path)
        if route == ("POST", "/auth/login"):
            body = json.loads(request.content)
            if (body["username"], body["password"]) != (self.username, self.password):
                return _error(401, "Wrong username or password.")
            return self._pair()
        if route == ("POST", "/auth/refresh"):
            token = json.loads(request.content)["refresh_token"]
            if token not in self.refresh_tokens:
                return _error(401, "The refresh token is invalid.")
            self.refresh_tokens.discard(token)
            return self._pair()
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in (
            self.access_tokens
        ):
            return _error(401, "The access token is invalid or has expired.")
        if route == ("GET", "/users/me"):
            user = UserPublic(
                id=7, username=self.username, role="radiologist", is_active=True,
                created_at=datetime(2024, 1, 1, tzinfo=UTC),
            )  # fmt: skip
            return httpx.Response(200, json=user.model_dump(mode="json"))
        if route == ("POST", "/readings/batch"):
            return self._batch(request)
        if route == ("GET", "/readings"):
            return self._list(request)
        return _error(404, "Not Found")

    def _pair(self) -> httpx.Response:
        n = next(self._counter)
        self.access_tokens.add(f"access-{n}")
        self.refresh_tokens.add(f"refresh-{n}")
        pair = TokenPair(access_token=f"access-{n}", refresh_token=f"refresh-{n}", expires_in=900)
        return httpx.Response(200, json=pair.model_dump())

    def _batch(self, request: httpx.Request) -> httpx.Response:
        batch = ReadingBatchCreate.model_validate_json(request.content)
        if self.max_batch is not None and len(batch.readings) > self.max_batch:
            return _error(413, "The request body is too large.")
        if self.before_batch is not None:
            self.before_batch(len(self.batches))
        self.batches.append([str(r.id) for r in batch.readings])
        results = [self._store(r) for r in batch.readings]
        return httpx.Response(200, json=ReadingBatchPublic(results=results).model_dump(mode="json"))

    def _store(self, data: ReadingCreate) -> ReadingBatchItem:
        key = str(data.id)
        if key in self.reject_ids:
            return ReadingBatchItem(id=data.id, status="rejected", message="not acceptable")
        stored = self.readings.get(key)
        now = datetime.now(UTC)
        if stored is None:
            self.readings[key] = ReadingPublic(
                **data.model_dump(), reader=self.username, received_at=now
            )
            return ReadingBatchItem(id=data.id, status="created")
        as_sent = ReadingCreate(**stored.model_dump(exclude={"reader", "received_at"}))
        if as_sent == data:
            return ReadingBatchItem(id=data.id, status="unchanged")
        fixed = set(ReadingCreate.model_fields) - DECISION_FIELDS
        if stored.signed_at is None and all(getattr(as_sent, f) == getattr(data, f) for f in fixed):
            self.readings[key] = ReadingPublic(
                **data.model_dump(), reader=self.username, received_at=stored.received_at
            )
            return ReadingBatchItem(id=data.id, status="updated")
        return ReadingBatchItem(
            id=data.id, status="conflict", message="already signed", stored=stored
        )

    def _list(self, request: httpx.Request) -> httpx.Response:
        ordered = sorted(self.readings.values(), key=lambda r: (r.created_at, str(r.id)))
        start = int(request.url.params.get("cursor") or 0)
        limit = int(request.url.params.get("limit") or 100)
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        body = ReadingsPublic(data=page, next_cursor=str(start + limit) if more else None)
        headers = {"Date": format_datetime(datetime.now(UTC), usegmt=True)}
        return httpx.Response(200, json=body.model_dump(mode="json"), headers=headers)
