"""user time zones: every person has the IANA zone their times are shown in, UTC until they choose one

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: Postgres records it once instead of rewriting every row.
    op.add_column('users', sa.Column('timezone', sa.Text(), server_default='UTC', nullable=False),
                  schema='identity')


def downgrade() -> None:
    op.drop_column('users', 'timezone', schema='identity')
