"""posts indexed by the library media they name, for the media service's retention

Built concurrently, outside a transaction, after any invalid index a failed build left is dropped.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:30:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS publisher.ix_posts_media")
        op.create_index('ix_posts_media', 'posts', ['media'], unique=False, schema='publisher',
                        postgresql_using='gin', postgresql_ops={'media': 'jsonb_path_ops'},
                        postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS publisher.ix_posts_media")
