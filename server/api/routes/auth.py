"""Login, token refresh and logout."""

from __future__ import annotations

from fastapi import APIRouter, Response

from core.contracts import LoginRequest, RefreshRequest, TokenPair
from server.api.deps import ClientAddr, Context, CurrentLogin, Now, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, BODY_ERRORS, error_responses

router = APIRouter(prefix="/auth", tags=["auth"], responses=ANY_ROUTE_ERRORS)

_ERRORS = {**BODY_ERRORS, **error_responses(401, 429)}


@router.post("/login", responses=_ERRORS)
def login(
    body: LoginRequest, context: Context, session: SessionDep, now: Now, client: ClientAddr
) -> TokenPair:
    """Exchange a username and password for an access token and a refresh token."""
    return context.auth.login(session, body, client_addr=client, now=now)


@router.post("/refresh", responses=_ERRORS)
def refresh(
    body: RefreshRequest, context: Context, session: SessionDep, now: Now, client: ClientAddr
) -> TokenPair:
    """Exchange a refresh token (once) for a new pair."""
    return context.auth.refresh(session, body.refresh_token, client_addr=client, now=now)


@router.post("/logout", status_code=204, responses=_ERRORS)
def logout(
    login: CurrentLogin,
    context: Context,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
    body: RefreshRequest | None = None,
) -> Response:
    """End this login: the access token and, if given, its refresh-token family."""
    context.auth.logout(
        session,
        user=login.user,
        claims=login.claims,
        refresh_token=body.refresh_token if body else None,
        client_addr=client,
        now=now,
    )
    return Response(status_code=204)
