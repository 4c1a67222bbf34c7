"""Outcomes of exams per breast (biopsy malignant or benign, no cancer at follow-up), queued
for the server until it holds them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Frozen: never edit after release; change the schema with a new revision. Times are stored as
fixed-width UTC ISO 8601 text (see ``core.store.tables.UtcDateTime``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breast_outcomes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("exam_id", sa.Text(), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("pixel_sha256s", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_breast_outcomes"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_breast_outcomes_user_id_users"),
        sa.CheckConstraint("side IN ('L', 'R')", name="ck_breast_outcomes_side"),
        sa.CheckConstraint("outcome IN ('malignant', 'benign', 'no_cancer')",
                           name="ck_breast_outcomes_outcome"),
    )
    op.create_index("ix_breast_outcomes_user_id", "breast_outcomes", ["user_id"])
    op.create_index("ix_breast_outcomes_exam", "breast_outcomes", ["exam_id", "side"])


def downgrade() -> None:
    op.drop_table("breast_outcomes")
