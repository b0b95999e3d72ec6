"""upload writing lease

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('uploads', sa.Column('writer', sa.UUID(), nullable=True), schema='media')
    op.add_column('uploads', sa.Column('writing_until', sa.TIMESTAMP(timezone=True), nullable=True), schema='media')


def downgrade() -> None:
    op.drop_column('uploads', 'writing_until', schema='media')
    op.drop_column('uploads', 'writer', schema='media')
