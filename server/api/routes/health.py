"""Liveness and readiness probes for nginx, systemd and monitoring."""

from __future__ import annotations

from fastapi import APIRouter

from core.contracts import ErrorPublic, HealthPublic
from server.api.deps import Context
from server.services import health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> HealthPublic:
    """The process is up. Touches nothing else."""
    return HealthPublic(status="ok")


@router.get("/readyz", responses={503: {"model": ErrorPublic}})
def readyz(context: Context) -> HealthPublic:
    """The database answers and its schema is at this server's newest migration."""
    return health.readiness(context.database)
