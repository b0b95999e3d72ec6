"""target captions and post due times: a target may carry its own caption; posts know when they are due, indexed
per person for the calendar and the due-sorted list

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
    # The due time the targets were given (a retried one's moves on: the earliest is the post's); a draft given no
    # time has none.
    op.execute("""
        UPDATE publisher.posts AS p SET due_at = CASE WHEN p.draft AND p.scheduled_at IS NULL THEN NULL
                                                 ELSE coalesce(p.scheduled_at, t.due_at) END
        FROM (SELECT post_id, min(due_at) AS due_at FROM publisher.targets GROUP BY post_id) AS t
        WHERE t.post_id = p.id
    """)
    # Concurrently: posts are created all the time, and must not wait for the index build.
    with op.get_context().autocommit_block():
        op.create_index('ix_posts_user_id_due_at', 'posts', ['user_id', 'due_at', 'id'], unique=False,
                        schema='publisher', postgresql_where=sa.text('due_at IS NOT NULL'),
                        postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_posts_user_id_due_at', table_name='posts', schema='publisher')
    op.drop_column('posts', 'due_at', schema='publisher')
    op.drop_column('targets', 'caption', schema='publisher')
