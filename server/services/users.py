"""Accounts: creation and changes by admins, and the public view of a user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.contracts import UserCreate, UserPublic, UsersPublic, UserUpdate
from server.db.models import User
from server.errors import Conflict, InvalidInput, NotFound
from server.security.passwords import PasswordHasher
from server.services import audit
from server.services.auth import AuthService


def to_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        role=user.role,  # type: ignore[arg-type]
        is_active=user.is_active,
        created_at=user.created_at,
    )


def create_user(
    session: Session,
    data: UserCreate,
    *,
    hasher: PasswordHasher,
    now: datetime,
    actor: User | None = None,
    client_addr: str | None = None,
) -> User:
    """Create an account (``actor`` is None when created from the command line).

    Raises
    ------
    Conflict
        The username is taken.
    """
    user = User(
        username=data.username,
        password_hash=hasher.hash(data.password),
        role=data.role,
        is_active=True,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise Conflict(f"The username {data.username!r} is taken.") from exc
    audit.record(
        session,
        action="user_create",
        now=now,
        actor=actor,
        actor_username=None if actor else "(command line)",
        target=data.username,
        client_addr=client_addr,
        detail={"role": data.role},
    )
    session.commit()
    return user


def update_user(
    session: Session,
    username: str,
    data: UserUpdate,
    *,
    auth: AuthService,
    actor: User,
    now: datetime,
    client_addr: str | None = None,
) -> User:
    """Change role or active flag. Disabling revokes every refresh token of the account, and
    its access tokens stop working at once because each request checks the flag.

    Raises
    ------
    NotFound
        No such user.
    InvalidInput
        An admin tried to disable or demote themselves (that could lock everyone out).
    """
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None:
        raise NotFound(f"There is no user {username!r}.")
    changes = data.model_dump(exclude_none=True)
    if user.id == actor.id and (
        changes.get("is_active") is False or changes.get("role", "admin") != "admin"
    ):
        raise InvalidInput("Admins cannot disable or demote themselves.")
    if "role" in changes:
        user.role = changes["role"]
    if "is_active" in changes and changes["is_active"] != user.is_active:
        user.is_active = changes["is_active"]
        user.disabled_at = None if user.is_active else now
        if not user.is_active:
            auth.revoke_all(session, user_id=user.id, now=now)
    audit.record(
        session,
        action="user_update",
        now=now,
        actor=actor,
        target=username,
        client_addr=client_addr,
        detail=changes,
    )
    session.commit()
    return user


def list_users(session: Session) -> UsersPublic:
    users = session.scalars(select(User).order_by(User.username))
    return UsersPublic(data=[to_public(u) for u in users])
