"""Initial schema: users, images, readings, reader feedback, outbox.

Revision ID: 0001
Revises:
Create Date: 2024-11-26

Frozen: never edit after release; change the schema with a new revision. Times are stored as
fixed-width UTC ISO 8601 text (see ``core.store.tables.UtcDateTime``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYNC_STATE_CHECK = "sync_state IN ('pending', 'synced', 'conflict')"


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(32), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(150, collation="NOCASE"), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("server_user_id", sa.String(64), nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint("role IN ('radiologist', 'admin')", name="ck_users_role"),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("pixel_sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bit_depth", sa.Integer(), nullable=False),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("laterality", sa.String(8), nullable=True),
        sa.Column("view_position", sa.String(16), nullable=True),
        sa.Column("photometric", sa.String(16), nullable=True),
        sa.Column("sop_instance_uid", sa.String(64), nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.UniqueConstraint(
            "source_path", "pixel_sha256", name="uq_images_source_path_pixel_sha256"
        ),
    )
    op.create_index("ix_images_pixel_sha256", "images", ["pixel_sha256"])
    op.create_table(
        "readings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model_id", sa.String(100), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("device", sa.String(32), nullable=False),
        sa.Column("preprocessing_version", sa.String(32), nullable=False),
        sa.Column("app_version", sa.String(32), nullable=False),
        sa.Column("heatmap_peak_x", sa.Float(), nullable=True),
        sa.Column("heatmap_peak_y", sa.Float(), nullable=True),
        _time("created_at"),
        sa.Column("sync_state", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_readings"),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], name="fk_readings_image_id_images"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_readings_user_id_users"),
        sa.CheckConstraint("label IN ('Positive', 'Negative')", name="ck_readings_label"),
        sa.CheckConstraint("score >= 0 AND score <= 1", name="ck_readings_score"),
        sa.CheckConstraint(SYNC_STATE_CHECK, name="ck_readings_sync_state"),
    )
    op.create_index("ix_readings_image_id", "readings", ["image_id"])
    op.create_index("ix_readings_user_id", "readings", ["user_id"])
    op.create_index("ix_readings_created_at", "readings", ["created_at"])
    op.create_table(
        "reader_feedback",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("reading_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("agrees_with_model", sa.Boolean(), nullable=False),
        sa.Column("birads", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _time("signed_at"),
        sa.Column("amends_id", sa.String(36), nullable=True),
        sa.Column("sync_state", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reader_feedback"),
        sa.ForeignKeyConstraint(
            ["reading_id"], ["readings.id"], name="fk_reader_feedback_reading_id_readings"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_reader_feedback_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["amends_id"],
            ["reader_feedback.id"],
            name="fk_reader_feedback_amends_id_reader_feedback",
        ),
        sa.UniqueConstraint("amends_id", name="uq_reader_feedback_amends_id"),
        sa.CheckConstraint(
            "birads IS NULL OR (birads >= 0 AND birads <= 6)", name="ck_reader_feedback_birads"
        ),
        sa.CheckConstraint(SYNC_STATE_CHECK, name="ck_reader_feedback_sync_state"),
    )
    op.create_index("ix_reader_feedback_reading_id", "reader_feedback", ["reading_id"])
    op.create_index("ix_reader_feedback_user_id", "reader_feedback", ["user_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(10), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        _time("created_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("done_at", nullable=True),
        sa.CheckConstraint("entity IN ('reading', 'feedback')", name="ck_outbox_entity"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_pending", "outbox", ["done_at", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("reader_feedback")
    op.drop_table("readings")
    op.drop_table("images")
    op.drop_table("users")
