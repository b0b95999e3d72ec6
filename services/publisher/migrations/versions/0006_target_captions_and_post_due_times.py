"""target captions and post due times: a target may carry its own caption; posts know when they are due

Only the two nullable columns, a change of the catalogue alone: their ACCESS EXCLUSIVE lock is held for an instant
and committed before 0007 fills them in and indexes them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('targets', sa.Column('caption', sa.Text(), nullable=True), schema='publisher')
    op.add_column('posts', sa.Column('due_at', sa.TIMESTAMP(timezone=True), nullable=True), schema='publisher')


def downgrade() -> None:
    op.drop_column('posts', 'due_at', schema='publisher')
    op.drop_column('targets', 'caption', schema='publisher')
