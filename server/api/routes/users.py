"""Accounts: the caller's own, and administration."""

from __future__ import annotations

from fastapi import APIRouter

from core.contracts import UserCreate, UserPublic, UsersPublic, UserUpdate
from server.api.deps import AdminUser, ClientAddr, Context, CurrentUser, Now, SessionDep
from server.api.errors import ANY_ROUTE_ERRORS, BODY_ERRORS, error_responses
from server.api.params import UsernamePath
from server.services import users

router = APIRouter(prefix="/users", tags=["users"], responses=ANY_ROUTE_ERRORS)


@router.get("/me", responses=error_responses(401))
def read_me(user: CurrentUser) -> UserPublic:
    """The logged-in user."""
    return users.to_public(user)


@router.get("", responses=error_responses(401, 403))
def list_users(admin: AdminUser, session: SessionDep) -> UsersPublic:
    """Every account (admin only)."""
    return users.list_users(session)


@router.post("", status_code=201, responses={**BODY_ERRORS, **error_responses(401, 403, 409)})
def create_user(
    body: UserCreate,
    admin: AdminUser,
    context: Context,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
) -> UserPublic:
    """Create an account (admin only)."""
    user = users.create_user(
        session, body, hasher=context.auth.hasher, now=now, actor=admin, client_addr=client
    )
    return users.to_public(user)


@router.patch("/{username}", responses={**BODY_ERRORS, **error_responses(401, 403, 404)})
def update_user(
    username: UsernamePath,
    body: UserUpdate,
    admin: AdminUser,
    context: Context,
    session: SessionDep,
    now: Now,
    client: ClientAddr,
) -> UserPublic:
    """Change an account's role or disable it (admin only); disabling logs it out everywhere."""
    user = users.update_user(
        session, username, body, auth=context.auth, actor=admin, now=now, client_addr=client
    )
    return users.to_public(user)
