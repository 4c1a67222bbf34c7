"""Re-scores: a reading made by asking the model again about an image names the earlier one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Frozen: never edit after release; change the schema with a new revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("readings") as batch:
        batch.add_column(sa.Column("rescore_of", sa.String(36), nullable=True))
        batch.create_foreign_key(
            "fk_readings_rescore_of_readings", "readings", ["rescore_of"], ["id"]
        )
        batch.create_index("ix_readings_rescore_of", ["rescore_of"])


def downgrade() -> None:
    with op.batch_alter_table("readings") as batch:
        batch.drop_index("ix_readings_rescore_of")
        batch.drop_constraint("fk_readings_rescore_of_readings", type_="foreignkey")
        batch.drop_column("rescore_of")
