"""PACS audit trail: every result object sent to the PACS, refused by it or saved to a folder.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Frozen: never edit after release; change the schema with a new revision. Times are stored as
fixed-width UTC ISO 8601 text (see ``core.store.tables.UtcDateTime``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pacs_sends",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Text(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(64), nullable=False),
        sa.Column("sop_class_uid", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pacs_sends"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_pacs_sends_user_id_users"),
        sa.CheckConstraint("kind IN ('report', 'capture')", name="ck_pacs_sends_kind"),
        sa.CheckConstraint("outcome IN ('sent', 'failed', 'saved')",
                           name="ck_pacs_sends_outcome"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pacs_sends_user_id", "pacs_sends", ["user_id"])
    op.create_index("ix_pacs_sends_exam_id", "pacs_sends", ["exam_id"])
    op.create_index("ix_pacs_sends_sop_instance_uid", "pacs_sends", ["sop_instance_uid"])


def downgrade() -> None:
    op.drop_table("pacs_sends")
