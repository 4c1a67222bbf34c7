"""outcomes of exams per breast

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outcomes',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('exam_key', sa.String(length=128), nullable=False),
    sa.Column('breast', sa.String(length=1), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('pixel_sha256s', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("breast IN ('L', 'R')", name=op.f('ck_outcomes_breast')),
    sa.CheckConstraint("outcome IN ('malignant', 'benign', 'no_cancer')", name=op.f('ck_outcomes_outcome')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outcomes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcomes'))
    )
    op.create_index('ix_outcomes_exam_key_breast', 'outcomes', ['exam_key', 'breast'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outcomes_exam_key_breast', table_name='outcomes')
    op.drop_table('outcomes')
