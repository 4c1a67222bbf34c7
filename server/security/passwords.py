"""Argon2id password hashing with rehash-on-login when the parameters change."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class PasswordHasher:
    """Hashes and verifies passwords with Argon2id.

    The defaults are OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane). A dummy hash
    made with the same parameters lets an unknown username cost as much as a wrong password.
    """

    def __init__(self, *, time_cost: int = 2, memory_kib: int = 19456, parallelism: int = 1):
        self._hasher = _Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy_hash = self._hasher.hash("dummy password for unknown users")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; ``stored_hash=None`` burns the same time and fails."""
        try:
            self._hasher.verify(stored_hash or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when ``stored_hash`` was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(stored_hash)
