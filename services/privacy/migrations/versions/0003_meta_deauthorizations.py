"""meta deauthorizations: the Deauthorize callbacks taken, so that the same one again does nothing more

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meta_deauthorizations',
    sa.Column('signed_request_hash', sa.Text(), nullable=False),
    sa.Column('received_at', sa.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('signed_request_hash', name=op.f('pk_meta_deauthorizations')),
    schema='privacy'
    )
    op.create_index(op.f('ix_meta_deauthorizations_received_at'), 'meta_deauthorizations', ['received_at'],
                    unique=False, schema='privacy')


def downgrade() -> None:
    op.drop_index(op.f('ix_meta_deauthorizations_received_at'), table_name='meta_deauthorizations',
                  schema='privacy')
    op.drop_table('meta_deauthorizations', schema='privacy')
