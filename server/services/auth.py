"""Logins, token refresh with rotation and reuse detection, logout, and request authentication."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.contracts import LoginRequest, TokenPair
from server.db.models import RefreshToken, RevokedAccessToken, User
from server.errors import AuthenticationFailed, TooManyAttempts
from server.security.passwords import PasswordHasher
from server.security.tokens import (
    AccessClaims,
    TokenCodec,
    hash_refresh_token,
    new_refresh_token,
)
from server.services import audit
from server.services.throttle import LoginThrottle

# One message for every login failure, so that it tells an attacker nothing.
LOGIN_FAILED = "Wrong username or password."


class AuthService:
    """Everything about proving who a caller is. Holds configuration, no per-request state."""

    def __init__(
        self,
        *,
        hasher: PasswordHasher,
        codec: TokenCodec,
        throttle: LoginThrottle,
        refresh_lifetime: timedelta,
    ) -> None:
        self.hasher = hasher
        self._codec = codec
        self._throttle = throttle
        self._refresh_lifetime = refresh_lifetime

    def login(
        self, session: Session, request: LoginRequest, *, client_addr: str, now: datetime
    ) -> TokenPair:
        """Check a password and start a new refresh-token family.

        Raises
        ------
        TooManyAttempts
            Too many recent failures for this account or address; the password is not checked.
        AuthenticationFailed
            Unknown user, wrong password or disabled account, all alike and in about the
            same time (an unknown user is verified against a dummy hash).
        """
        username = request.username
        try:
            self._throttle.check(session, username=username, client_addr=client_addr, now=now)
        except TooManyAttempts:
            audit.record(
                session,
                action="login_throttled",
                now=now,
                actor_username=username,
                client_addr=client_addr,
            )
            session.commit()
            raise
        user = session.scalar(select(User).where(User.username == username))
        password_ok = self.hasher.verify(user.password_hash if user else None, request.password)
        if user is None or not password_ok or not user.is_active:
            self._throttle.record_failure(
                session, username=username, client_addr=client_addr, now=now
            )
            audit.record(
                session,
                action="login_failed",
                now=now,
                actor_username=username,
                client_addr=client_addr,
            )
            session.commit()  # the failure must count even though the request fails
            raise AuthenticationFailed(LOGIN_FAILED)
        if self.hasher.needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(request.password)
        self._throttle.clear(session, username=username)
        session.execute(
            delete(RefreshToken).where(
                RefreshToken.user_id == user.id, RefreshToken.expires_at < now
            )
        )
        pair = self._issue(session, user, family_id=uuid.uuid4(), now=now)
        audit.record(session, action="login", now=now, actor=user, client_addr=client_addr)
        session.commit()
        return pair

    def refresh(
        self, session: Session, refresh_token: str, *, client_addr: str, now: datetime
    ) -> TokenPair:
        """Trade a refresh token for a new pair; the old token can never be used again.

        Presenting a token that was already rotated means it was stolen or replayed: the whole
        family is revoked, so the thief and the legitimate client both have to log in again.
        """
        stored = session.scalar(
            select(RefreshToken)
            .where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
            .with_for_update()
        )
        if stored is None:
            raise AuthenticationFailed("The refresh token is invalid.")
        user = session.get(User, stored.user_id)
        if stored.used_at is not None and stored.revoked_at is None:
            self._revoke_family(session, stored.family_id, now=now)
            audit.record(
                session,
                action="refresh_reuse",
                now=now,
                actor=user,
                client_addr=client_addr,
                target=str(stored.family_id),
            )
            session.commit()
            raise AuthenticationFailed("The refresh token is invalid.")
        if (
            stored.revoked_at is not None
            or stored.used_at is not None
            or stored.expires_at <= now
            or user is None
            or not user.is_active
        ):
            raise AuthenticationFailed("The refresh token is invalid.")
        stored.used_at = now
        pair = self._issue(session, user, family_id=stored.family_id, now=now)
        session.commit()
        return pair

    def logout(
        self,
        session: Session,
        *,
        user: User,
        claims: AccessClaims,
        refresh_token: str | None,
        client_addr: str,
        now: datetime,
    ) -> None:
        """End this login: its refresh family and the access token that asked."""
        session.merge(RevokedAccessToken(jti=claims.jti, expires_at=claims.expires_at))
        # Entries past their token's expiry protect nothing any more.
        session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < now))
        if refresh_token is not None:
            stored = session.scalar(
                select(RefreshToken).where(
                    RefreshToken.token_hash == hash_refresh_token(refresh_token),
                    RefreshToken.user_id == user.id,
                )
            )
            if stored is not None:
                self._revoke_family(session, stored.family_id, now=now)
        audit.record(session, action="logout", now=now, actor=user, client_addr=client_addr)
        session.commit()

    def authenticate(self, session: Session, token: str) -> tuple[User, AccessClaims]:
        """The active user an access token speaks for.

        Raises
        ------
        AuthenticationFailed
            Bad, expired or revoked token, or a user who is gone or disabled.
        """
        claims = self._codec.verify(token)
        # One round trip: every request comes through here.
        revoked = select(RevokedAccessToken.jti).where(RevokedAccessToken.jti == claims.jti)
        user = session.scalar(
            select(User).where(User.id == claims.user_id, User.is_active, ~revoked.exists())
        )
        if user is None:
            raise AuthenticationFailed("The access token is invalid or has expired.")
        return user, claims

    def revoke_all(self, session: Session, *, user_id: int, now: datetime) -> None:
        """Revoke every refresh token of a user (account disabled)."""
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def _revoke_family(self, session: Session, family_id: uuid.UUID, *, now: datetime) -> None:
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def _issue(
        self, session: Session, user: User, *, family_id: uuid.UUID, now: datetime
    ) -> TokenPair:
        refresh_token = new_refresh_token()
        session.add(
            RefreshToken(
                user_id=user.id,
                family_id=family_id,
                token_hash=hash_refresh_token(refresh_token),
                created_at=now,
                expires_at=now + self._refresh_lifetime,
            )
        )
        access_token = self._codec.issue(user_id=user.id, role=user.role, now=now)
        return TokenPair(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=int(self._codec.lifetime.total_seconds()),
        )
