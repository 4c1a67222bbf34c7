"""Sync with the central server: server accounts, conflicts, sync status.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-20

Frozen: never edit after release; change the schema with a new revision. Times are stored as
fixed-width UTC ISO 8601 text (see ``core.store.tables.UtcDateTime``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(32), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "server_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_url", sa.String(255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("server_user_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("password_verifier", sa.String(255), nullable=True),
        _time("verified_online_at"),
        _time("last_login_at"),
        _time("pull_watermark"),
        sa.PrimaryKeyConstraint("id", name="pk_server_accounts"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_server_accounts_user_id_users"
        ),
        sa.UniqueConstraint(
            "server_url", "user_id", name="uq_server_accounts_server_url_user_id"
        ),
    )
    op.create_index("ix_server_accounts_user_id", "server_accounts", ["user_id"])
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Integer(), nullable=False, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(10), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("reading_id", sa.String(36), nullable=False),
        sa.Column("local_version", sa.Text(), nullable=False),
        sa.Column("server_version", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _time("detected_at", nullable=False),
        _time("resolved_at"),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name="fk_sync_conflicts_outbox_id_outbox"
        ),
        sa.ForeignKeyConstraint(
            ["reading_id"], ["readings.id"], name="fk_sync_conflicts_reading_id_readings"
        ),
        sa.UniqueConstraint("outbox_id", name="uq_sync_conflicts_outbox_id"),
        sa.CheckConstraint("entity IN ('reading', 'feedback')", name="ck_sync_conflicts_entity"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sync_conflicts_entity_id", "sync_conflicts", ["entity_id"])
    op.create_index("ix_sync_conflicts_reading_id", "sync_conflicts", ["reading_id"])
    op.create_table(
        "sync_status",
        sa.Column("id", sa.Integer(), nullable=False),
        _time("last_attempt_at"),
        _time("last_success_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_kind", sa.String(10), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_status"),
        sa.CheckConstraint("id = 1", name="ck_sync_status_single_row"),
    )


def downgrade() -> None:
    op.drop_table("sync_status")
    op.drop_table("sync_conflicts")
    op.drop_table("server_accounts")
