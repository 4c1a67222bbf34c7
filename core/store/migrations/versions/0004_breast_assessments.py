"""Per-breast assessments: BI-RADS, density, note and finding marks, signed and amended.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Frozen: never edit after release; change the schema with a new revision. Times are stored as
fixed-width UTC ISO 8601 text (see ``core.store.tables.UtcDateTime``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breast_assessments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("exam_id", sa.Text(), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("birads", sa.String(2), nullable=False),
        sa.Column("density", sa.String(1), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("model_id", sa.String(100), nullable=True),
        sa.Column("model_score", sa.Float(), nullable=True),
        sa.Column("model_label", sa.String(8), nullable=True),
        sa.Column("model_threshold", sa.Float(), nullable=True),
        sa.Column("agrees_with_model", sa.Boolean(), nullable=True),
        sa.Column("signed_at", sa.String(32), nullable=False),
        sa.Column("amends_id", sa.String(36), nullable=True),
        sa.Column("amend_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_breast_assessments"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_breast_assessments_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["amends_id"],
            ["breast_assessments.id"],
            name="fk_breast_assessments_amends_id_breast_assessments",
        ),
        sa.UniqueConstraint("amends_id", name="uq_breast_assessments_amends_id"),
        sa.CheckConstraint("side IN ('L', 'R')", name="ck_breast_assessments_side"),
        sa.CheckConstraint(
            "birads IN ('0', '1', '2', '3', '4A', '4B', '4C', '5', '6')",
            name="ck_breast_assessments_birads",
        ),
        sa.CheckConstraint(
            "density IS NULL OR density IN ('a', 'b', 'c', 'd')",
            name="ck_breast_assessments_density",
        ),
        sa.CheckConstraint(
            "mode IN ('with_model', 'blinded', 'without_model')", name="ck_breast_assessments_mode"
        ),
        sa.CheckConstraint(
            "model_label IS NULL OR model_label IN ('Positive', 'Negative')",
            name="ck_breast_assessments_model_label",
        ),
    )
    op.create_index(
        "ix_breast_assessments_exam", "breast_assessments", ["exam_id", "side", "user_id"]
    )
    op.create_index("ix_breast_assessments_user_id", "breast_assessments", ["user_id"])
    op.create_table(
        "finding_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.String(36), nullable=False),
        sa.Column("image_path", sa.Text(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finding_marks"),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["breast_assessments.id"],
            name="fk_finding_marks_assessment_id_breast_assessments",
        ),
    )
    op.create_index("ix_finding_marks_assessment_id", "finding_marks", ["assessment_id"])


def downgrade() -> None:
    op.drop_table("finding_marks")
    op.drop_table("breast_assessments")
