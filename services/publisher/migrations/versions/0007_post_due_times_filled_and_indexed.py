"""post due times filled in and indexed per person, for the calendar and the due-sorted list

Outside a transaction, so nothing waits on it for long: the backfill goes a thousand posts per transaction, in id
order (so a rerun after a failure goes through them again and ends), and the index is built concurrently after any
invalid one a failed build left is dropped.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
NEXT_BATCH = sa.text(
    "SELECT id FROM publisher.posts WHERE id > CAST(:after AS uuid) ORDER BY id LIMIT :batch")
# The due time the targets were given (a retried one's moves on: the earliest is the post's); a draft given no
# time has none.
FILL = sa.text("""
    UPDATE publisher.posts AS p SET due_at = CASE WHEN p.draft AND p.scheduled_at IS NULL THEN NULL
                                             ELSE coalesce(p.scheduled_at, t.due_at) END
    FROM (SELECT post_id, min(due_at) AS due_at FROM publisher.targets WHERE post_id IN :ids GROUP BY post_id) AS t
    WHERE t.post_id = p.id AND p.id IN :ids
""").bindparams(sa.bindparam("ids", expanding=True))


def upgrade() -> None:
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        after = "00000000-0000-0000-0000-000000000000"
        while ids := list(bind.execute(NEXT_BATCH, {"after": after, "batch": BATCH}).scalars()):
            bind.execute(FILL, {"ids": ids})
            after = str(ids[-1])
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS publisher.ix_posts_user_id_due_at")
        op.create_index('ix_posts_user_id_due_at', 'posts', ['user_id', 'due_at', 'id'], unique=False,
                        schema='publisher', postgresql_where=sa.text('due_at IS NOT NULL'),
                        postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS publisher.ix_posts_user_id_due_at")
