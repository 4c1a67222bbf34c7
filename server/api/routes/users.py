"""Accounts: the caller's own, and administration."""

from __future__ import annotations

from fastapi import APIRouter

from core.contracts import ErrorPublic, UserCreate, UserPublic, UsersPublic, UserUpdate
from server.api.deps import AdminUser, ClientAddr, Context, CurrentUser, Now, SessionDep
from server.services import users

router = APIRouter(prefix="/users", tags=["users"])

_ERRORS = {401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}}


@router.get("/me", responses=_ERRORS)
def read_me(user: CurrentUser) -> UserPublic:
    """The logged-in user."""
    return users.to_public(user)


@router.get("", responses=_ERRORS)
def list_users(admin: AdminUser, session: SessionDep) -> UsersPublic:
    """Every account (admin only)."""
    return users.list_users(session)


@router.post("", status_code=201, responses={**_ERRORS, 409: {"model": ErrorPublic}})
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


@router.patch("/{username}", responses={**_ERRORS, 404: {"model": ErrorPublic}})
def update_user(
    username: str,
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
