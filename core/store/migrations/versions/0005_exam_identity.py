"""Exam identity: each image keeps whose exam it is (DICOM study, patient, accession), and the
breast and view a reader said a picture shows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Frozen: never edit after release; change the schema with a new revision. Times are stored as
fixed-width UTC ISO 8601 text (see ``core.store.tables.UtcDateTime``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IDENTITY = (
    ("study_instance_uid", 64, True),
    ("patient_id", 64, True),
    ("patient_name", 256, False),
    ("birth_date", 16, False),
    ("study_date", 16, False),
    ("accession_number", 64, True),
    ("manufacturer", 128, False),
)


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        for name, length, _indexed in _IDENTITY:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))
        for name, _length, indexed in _IDENTITY:
            if indexed:
                batch.create_index(f"ix_images_{name}", [name])
    op.create_table(
        "image_sides",
        sa.Column("pixel_sha256", sa.String(64), nullable=False),
        sa.Column("laterality", sa.String(1), nullable=True),
        sa.Column("view", sa.String(16), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stated_at", sa.String(32), nullable=False),
        sa.CheckConstraint(
            "laterality IS NULL OR laterality IN ('L', 'R')", name="ck_image_sides_laterality"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_image_sides_user_id_users"),
        sa.PrimaryKeyConstraint("pixel_sha256", name="pk_image_sides"),
    )
    op.create_index("ix_image_sides_user_id", "image_sides", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_image_sides_user_id", table_name="image_sides")
    op.drop_table("image_sides")
    with op.batch_alter_table("images") as batch:
        for name, _length, indexed in _IDENTITY:
            if indexed:
                batch.drop_index(f"ix_images_{name}")
        for name, _length, _indexed in _IDENTITY:
            batch.drop_column(name)
