"""Access JWTs (HS256, short-lived) and opaque refresh tokens (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from server.errors import AuthenticationFailed

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "jti", "sub", "role"]


@dataclass(frozen=True)
class AccessClaims:
    """The verified content of an access token."""

    user_id: int
    role: str
    jti: str
    expires_at: datetime


class TokenCodec:
    """Issues and verifies access tokens for one issuer, audience and secret."""

    def __init__(self, *, secret: str, issuer: str, audience: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.lifetime = lifetime

    def issue(self, *, user_id: int, role: str, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "role": role,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        """Check signature, algorithm, expiry, issuer and audience.

        Raises
        ------
        AuthenticationFailed
            For any defect; the caller never learns which one.
        """
        try:
            # Pinning the algorithm list is what defeats "alg: none" and key-confusion tokens.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": REQUIRED_CLAIMS},
            )
            return AccessClaims(
                user_id=int(claims["sub"]),
                role=str(claims["role"]),
                jti=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
            )
        except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
            raise AuthenticationFailed("The access token is invalid or has expired.") from exc


def new_refresh_token() -> str:
    """A random, URL-safe refresh token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """SHA-256 is enough here: the token is random, so there is nothing to brute-force."""
    return hashlib.sha256(token.encode()).hexdigest()
