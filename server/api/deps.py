"""Request dependencies: the app context, a database session, the caller and their rights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.db.database import Database
from server.db.models import User
from server.errors import AuthenticationFailed, PermissionDenied
from server.security.tokens import AccessClaims
from server.services.auth import AuthService
from server.services.prediction import Predictor
from server.settings import ServerSettings


@dataclass(frozen=True)
class AppContext:
    """What the composition root built, shared by every request of one app."""

    settings: ServerSettings
    database: Database
    auth: AuthService
    clock: Callable[[], datetime]
    predictor: Predictor | None


# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in the
# thread pool, a hop that costs more than the work. Those that touch the database stay ``def``.


async def get_context(request: Request) -> AppContext:
    return request.app.state.context


Context = Annotated[AppContext, Depends(get_context)]


async def get_session(context: Context) -> AsyncIterator[Session]:
    # Opening a session touches nothing. Closing one whose transaction is still open (the
    # route failed) rolls back over the network: that goes to a worker thread, never the loop.
    session = context.database.new_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


async def get_now(context: Context) -> datetime:
    return context.clock()


Now = Annotated[datetime, Depends(get_now)]


async def get_client_addr(request: Request) -> str:
    # Behind nginx this is the workstation's address: uvicorn trusts X-Forwarded-For only from
    # the proxies in MAMMO_SERVER_FORWARDED_ALLOW_IPS.
    return request.client.host if request.client else "unknown"


ClientAddr = Annotated[str, Depends(get_client_addr)]

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Login:
    user: User
    claims: AccessClaims


def get_login(
    context: Context,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Login:
    if credentials is None:
        raise AuthenticationFailed("Log in first.")
    user, claims = context.auth.authenticate(session, credentials.credentials)
    # End the read-only transaction, so the connection goes back to the pool before the
    # route waits for a worker thread. Held across that wait, a burst of requests deadlocks:
    # every thread waiting for a connection, every connection waiting for a thread.
    session.commit()
    return Login(user=user, claims=claims)


CurrentLogin = Annotated[Login, Depends(get_login)]


async def get_user(login: CurrentLogin) -> User:
    return login.user


CurrentUser = Annotated[User, Depends(get_user)]


async def get_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise PermissionDenied("Only an administrator may do this.")
    return user


AdminUser = Annotated[User, Depends(get_admin)]
