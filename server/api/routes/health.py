"""Liveness and readiness probes for nginx, systemd and monitoring."""

from __future__ import annotations

from fastapi import APIRouter

from core.contracts import HealthPublic
from server.api.deps import Context
from server.api.errors import ANY_ROUTE_ERRORS
from server.services import health

router = APIRouter(tags=["health"], responses=ANY_ROUTE_ERRORS)


@router.get("/healthz")
def healthz() -> HealthPublic:
    """The process is up. Touches nothing else."""
    return HealthPublic(status="ok")


@router.get("/readyz")
def readyz(context: Context) -> HealthPublic:
    """The database answers and its schema is at this server's newest migration."""
    return health.readiness(context.database)
