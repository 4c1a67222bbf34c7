"""The server's composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from core.contracts import CONTRACT_VERSION
from server.api.deps import AppContext
from server.api.errors import install_error_handlers
from server.api.limits import BodySizeLimit
from server.api.routes import (
    agreement,
    audit,
    auth,
    health,
    models,
    outcomes,
    predict,
    readings,
    stats,
    users,
)
from server.db.database import Database
from server.errors import ConfigurationError
from server.security.passwords import PasswordHasher
from server.security.tokens import TokenCodec
from server.services.auth import AuthService
from server.services.prediction import Predictor
from server.services.throttle import LoginThrottle
from server.settings import ServerSettings, load_settings

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: ServerSettings,
    *,
    database: Database | None = None,
    predictor: Predictor | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings:
        The server's settings (see :mod:`server.settings`).
    database:
        Sessions to use; by default a pooled engine on ``settings.database_url``, disposed of
        at shutdown.
    predictor:
        The model behind ``POST /predict``; required when ``settings.predict_enabled``.
    clock:
        The current time, aware, in UTC.

    Raises
    ------
    ConfigurationError
        Prediction is enabled without a predictor.
    """
    if settings.predict_enabled and predictor is None:
        raise ConfigurationError("Prediction is enabled but this server has no model wired in.")
    database = database or Database.from_url(
        settings.database_url,
        pool_size=settings.db_pool_size,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    context = AppContext(
        settings=settings,
        database=database,
        auth=_auth_service(settings),
        clock=clock,
        predictor=predictor if settings.predict_enabled else None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        database.dispose()

    production = settings.environment == "production"
    app = FastAPI(
        title="Mammo Workstation server",
        version=CONTRACT_VERSION,
        lifespan=lifespan,
        docs_url=None if production else "/docs",
        redoc_url=None,
        openapi_url=None if production else "/openapi.json",
    )
    app.state.context = context
    install_error_handlers(app)
    for module in (auth, users, readings, stats, agreement, outcomes, audit, models, health):
        app.include_router(module.router)
    if settings.predict_enabled:
        app.include_router(predict.router)
    app.add_middleware(
        BodySizeLimit,
        default=settings.max_body_bytes,
        limits={"/predict": settings.predict_max_bytes},
    )
    return app


def _auth_service(settings: ServerSettings) -> AuthService:
    hasher = PasswordHasher(
        time_cost=settings.password_time_cost,
        memory_kib=settings.password_memory_kib,
        parallelism=settings.password_parallelism,
    )
    codec = TokenCodec(
        secret=settings.secret_key.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    window = timedelta(seconds=settings.login_window_seconds)
    throttle = LoginThrottle(
        per_account=settings.login_max_failures,
        per_address=settings.login_max_failures_per_address,
        window=window,
    )
    return AuthService(
        hasher=hasher,
        codec=codec,
        throttle=throttle,
        refresh_lifetime=timedelta(days=settings.refresh_token_days),
    )


def app_from_env() -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from the environment and config file."""
    settings = load_settings()
    if settings.environment == "development":
        log.warning("running in development mode; never expose this server to a network")
    return create_app(settings)
