"""media last used

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('items', sa.Column('last_used_at', sa.TIMESTAMP(timezone=True), nullable=True), schema='media')


def downgrade() -> None:
    op.drop_column('items', 'last_used_at', schema='media')
