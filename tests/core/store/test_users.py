from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from core.errors import StoreError
from core.store import Store


def test_ensure_user_returns_the_same_account_in_any_letter_case(store: Store) -> None:
    user_id = store.ensure_user("Alice", display_name="Dr Alice Smith")

    assert store.ensure_user("alice") == user_id
    assert store.ensure_user("  ALICE ") == user_id
    user = store.get_user(user_id)
    assert user is not None
    assert (user.username, user.display_name, user.role) == (
        "Alice",
        "Dr Alice Smith",
        "radiologist",
    )
    assert not user.has_password
    assert not store.has_accounts()


def test_ensure_user_refuses_an_unknown_role(store: Store) -> None:
    with pytest.raises(StoreError, match="Unknown role"):
        store.ensure_user("bob", role="superuser")  # type: ignore[arg-type]


def test_local_account_can_log_in_with_the_right_password_only(store: Store) -> None:
    assert not store.has_accounts()
    user_id = store.create_local_account("carol", "correct horse", role="admin")

    assert store.has_accounts()
    user = store.verify_local_password("Carol", "correct horse")
    assert user is not None
    assert (user.id, user.role, user.has_password) == (user_id, "admin", True)
    assert store.verify_local_password("carol", "wrong horse") is None
    assert store.verify_local_password("nobody", "correct horse") is None


def test_account_without_password_cannot_log_in(store: Store) -> None:
    store.ensure_user("cli-user")
    assert store.verify_local_password("cli-user", "") is None
    assert store.verify_local_password("cli-user", "anything") is None


def test_duplicate_account_is_refused(store: Store) -> None:
    store.create_local_account("dave", "pw-1")

    with pytest.raises(StoreError, match="already exists"):
        store.create_local_account("DAVE", "pw-2")
    store.ensure_user("erin")  # a command-line account, without password
    with pytest.raises(StoreError, match="already exists"):
        store.create_local_account("erin", "pw-3")
    assert store.verify_local_password("dave", "pw-1") is not None
    assert store.verify_local_password("dave", "pw-2") is None


def test_empty_username_or_password_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="Enter a username"):
        store.create_local_account("   ", "pw")
    with pytest.raises(StoreError, match="cannot be empty"):
        store.create_local_account("frank", "")
    assert not store.has_accounts()


def test_password_hash_is_not_the_password(store: Store, store_path: Path) -> None:
    store.create_local_account("gina", "s3cret-pass")
    with closing(sqlite3.connect(store_path)) as connection:
        (stored,) = connection.execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$")
    assert "s3cret-pass" not in stored


def test_outdated_hash_is_upgraded_on_successful_login(store: Store, store_path: Path) -> None:
    store.create_local_account("hank", "pw")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    with closing(sqlite3.connect(store_path)) as connection, connection:
        connection.execute("UPDATE users SET password_hash = ?", (weak,))

    assert store.verify_local_password("hank", "pw") is not None

    with closing(sqlite3.connect(store_path)) as connection:
        (stored,) = connection.execute("SELECT password_hash FROM users").fetchone()
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)
    assert store.verify_local_password("hank", "pw") is not None


def test_get_user_of_unknown_id_is_none(store: Store) -> None:
    assert store.get_user(12345) is None  # type: ignore[arg-type]
