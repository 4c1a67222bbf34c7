"""The one JSON error shape, and the one table from domain errors to HTTP status codes."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.contracts import ErrorBody, ErrorPublic
from server.errors import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    FeatureDisabled,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
    ServiceUnavailable,
    TooManyAttempts,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[ServerError], int] = {
    InvalidInput: 422,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    FeatureDisabled: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    TooManyAttempts: 429,
    ConfigurationError: 500,
    ServiceUnavailable: 503,
}

CODE_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_attempts",
}


ERROR_DESCRIPTIONS = {
    400: "The request body could not be read (not UTF-8).",
    401: "Not logged in, or the token is invalid, expired or revoked.",
    403: "Logged in, but not allowed to do this.",
    404: "No such resource, or one the caller may not see.",
    409: "Contradicts what is stored.",
    413: "The request body is too large.",
    422: "The request is not valid.",
    429: "Too many failed logins; wait Retry-After seconds.",
    500: "Unexpected server error.",
    503: "The database is unavailable; try again after Retry-After seconds.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring ``statuses`` as the one error shape. FastAPI would
    otherwise document 422 as its own validation body, which this server never sends."""
    return {
        status: {"model": ErrorPublic, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


ANY_ROUTE_ERRORS = error_responses(422, 500, 503)
"""What any route may answer: invalid parameters, a bug, the database down."""

BODY_ERRORS = error_responses(400, 413)
"""What any route that reads a request body may also answer."""


def error_response(
    status: int,
    code: str,
    message: str,
    detail: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorPublic(error=ErrorBody(code=code, message=message, detail=detail))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def response_for(exc: ServerError) -> JSONResponse:
    """The response for a domain error; the status comes from :data:`STATUS_BY_ERROR`."""
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), 500)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(status, exc.code, exc.message, jsonable_encoder(exc.detail), headers)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Leave out "input": it may echo a password back, and "ctx" may not be serialisable.
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def _on_server_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServerError)
    return response_for(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        422, "validation_error", "The request is not valid.", _validation_detail(exc)
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "http_error")
    try:
        message = HTTPStatus(exc.status_code).phrase
    except ValueError:
        message = "HTTP error"
    if isinstance(exc.detail, str) and exc.detail and exc.detail != message:
        message = f"{message}: {exc.detail}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(exc.status_code, code, message, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    # Starlette names only the first route that matched the path; FastAPI makes one route per
    # method, so GET and POST /users would answer "Allow: GET" alone. The path's own routes
    # count, the most literal first: /users/me is GET, even though PATCH /users/{username}
    # would take "me" for a name.
    by_parameters: dict[int, set[str]] = {}
    for route in iter_route_contexts(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            parameters = len(getattr(route, "param_convertors", None) or {})
            by_parameters.setdefault(parameters, set()).update(getattr(route, "methods", ()))
    return sorted(by_parameters[min(by_parameters)]) if by_parameters else []


async def _on_database_down(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DBAPIError) and not (
        isinstance(exc, OperationalError) or exc.connection_invalidated
    ):
        return await _on_unexpected(request, exc)
    log.warning("database unavailable: %s", exc)
    return error_response(
        503,
        "database_unavailable",
        "The database is unavailable. Try again shortly.",
        headers={"Retry-After": "5"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on the server.")


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the one error shape."""
    app.add_exception_handler(ServerError, _on_server_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for db_error in (DBAPIError, DisconnectionError, PoolTimeoutError):
        app.add_exception_handler(db_error, _on_database_down)
    app.add_exception_handler(Exception, _on_unexpected)
