"""retention indexes: the purge finds old platform calls, and old timeline steps that hold an error, by time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Concurrently: the workers write to both tables all the time, and must not wait for the index build.
    with op.get_context().autocommit_block():
        op.create_index(op.f('ix_platform_calls_at'), 'platform_calls', ['at'], unique=False,
                        schema='publisher', postgresql_concurrently=True, if_not_exists=True)
        # Partial: only the steps that hold an error are ever purged, a small part of every timeline.
        op.create_index('ix_target_events_error_at', 'target_events', ['at'], unique=False, schema='publisher',
                        postgresql_where=sa.text("error_class IS NOT NULL OR status = 'failed'"),
                        postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_target_events_error_at', table_name='target_events', schema='publisher')
    op.drop_index(op.f('ix_platform_calls_at'), table_name='platform_calls', schema='publisher')
