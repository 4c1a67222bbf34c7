"""Domain errors of the server.

Services raise these; :mod:`server.api.errors` alone turns them into HTTP status codes and the
one JSON error shape. ``code`` is stable for programs, ``message`` is for people, ``detail`` is
optional structured data safe to show to the caller.
"""

from __future__ import annotations

from typing import Any


class ServerError(Exception):
    """Root of every error the server raises on purpose."""

    code = "server_error"

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ServerError):
    """The settings cannot be used; the server must not start."""

    code = "configuration_error"


class NotFound(ServerError):
    code = "not_found"


class Conflict(ServerError):
    """The request contradicts what is stored; ``detail`` may carry the stored version."""

    code = "conflict"


class InvalidInput(ServerError):
    """Well-formed but unacceptable input (unknown amended reading, bad cursor...)."""

    code = "invalid_input"


class AuthenticationFailed(ServerError):
    """No valid credentials. The message never says which part was wrong."""

    code = "not_authenticated"


class PermissionDenied(ServerError):
    code = "forbidden"


class TooManyAttempts(ServerError):
    """Too many failed logins; retry after ``retry_after`` seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLarge(ServerError):
    code = "payload_too_large"


class FeatureDisabled(ServerError):
    code = "feature_disabled"


class ServiceUnavailable(ServerError):
    code = "service_unavailable"
