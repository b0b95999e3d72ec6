"""email changes and notification preferences: a mailed link can prove a new address, and each person chooses
which mails they get about their posts and accounts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('email_tokens', sa.Column('email', sa.Text(), nullable=True), schema='identity')
    op.create_table('notification_preferences',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('target_failed', sa.Boolean(), nullable=False),
    sa.Column('post_published', sa.Boolean(), nullable=False),
    sa.Column('reauth_required', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.TIMESTAMP(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['identity.users.id'],
                            name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_preferences')),
    schema='identity'
    )


def downgrade() -> None:
    op.drop_table('notification_preferences', schema='identity')
    op.drop_column('email_tokens', 'email', schema='identity')
