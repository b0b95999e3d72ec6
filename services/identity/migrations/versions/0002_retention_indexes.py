"""retention indexes: the purge finds old sign-in attempts and rate-limit hits by time alone

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Concurrently: both tables take a row per sign-in attempt, which must not wait for the index build.
    with op.get_context().autocommit_block():
        op.create_index(op.f('ix_sign_in_attempts_at'), 'sign_in_attempts', ['at'], unique=False,
                        schema='identity', postgresql_concurrently=True, if_not_exists=True)
        op.create_index(op.f('ix_rate_limit_hits_at'), 'rate_limit_hits', ['at'], unique=False,
                        schema='identity', postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_limit_hits_at'), table_name='rate_limit_hits', schema='identity')
    op.drop_index(op.f('ix_sign_in_attempts_at'), table_name='sign_in_attempts', schema='identity')
