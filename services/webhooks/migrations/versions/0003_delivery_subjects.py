"""delivery subjects: the platform ids a delivery is about, so a deletion can find it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:10:00
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
    op.add_column('deliveries', sa.Column('subjects', postgresql.ARRAY(sa.Text()), server_default='{}',
                                          nullable=False), schema='webhooks')
    op.create_index('ix_deliveries_subjects', 'deliveries', ['subjects'], unique=False, schema='webhooks',
                    postgresql_using='gin')


def downgrade() -> None:
    op.drop_index('ix_deliveries_subjects', table_name='deliveries', schema='webhooks')
    op.drop_column('deliveries', 'subjects', schema='webhooks')
