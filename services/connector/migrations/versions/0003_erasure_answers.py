"""erasure answers: what a deletion request erased, until the request completes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('erasure_answers',
    sa.Column('request_id', sa.UUID(), nullable=False),
    sa.Column('user_ids', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('account_ids', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('external_ids', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('answered_at', sa.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_erasure_answers')),
    schema='connector'
    )
    op.create_index(op.f('ix_erasure_answers_answered_at'), 'erasure_answers', ['answered_at'], unique=False,
                    schema='connector')


def downgrade() -> None:
    op.drop_index(op.f('ix_erasure_answers_answered_at'), table_name='erasure_answers', schema='connector')
    op.drop_table('erasure_answers', schema='connector')
