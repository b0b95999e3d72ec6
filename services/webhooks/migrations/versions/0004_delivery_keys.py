"""delivery keys: dedupe keys kept apart from the deliveries, so that they outlive the bodies

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('delivery_keys',
    sa.Column('provider', sa.Text(), nullable=False),
    sa.Column('dedupe_key', sa.Text(), nullable=False),
    sa.Column('first_seen_at', sa.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('provider', 'dedupe_key', name=op.f('pk_delivery_keys')),
    schema='webhooks'
    )
    op.create_index(op.f('ix_delivery_keys_first_seen_at'), 'delivery_keys', ['first_seen_at'], unique=False,
                    schema='webhooks')
    op.execute("INSERT INTO webhooks.delivery_keys (provider, dedupe_key, first_seen_at) "
               "SELECT provider, dedupe_key, received_at FROM webhooks.deliveries ON CONFLICT DO NOTHING")


def downgrade() -> None:
    op.drop_index(op.f('ix_delivery_keys_first_seen_at'), table_name='delivery_keys', schema='webhooks')
    op.drop_table('delivery_keys', schema='webhooks')
