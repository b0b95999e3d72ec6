"""deletion requests and their per-service steps

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deletion_requests',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('confirmation_code', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('subject_hash', sa.Text(), nullable=False),
    sa.Column('signed_request_hash', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('completed_at', sa.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('last_sent_at', sa.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('alerted_at', sa.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('user_id', sa.UUID(), nullable=True),
    sa.Column('account_ids', postgresql.ARRAY(sa.UUID()), nullable=True),
    sa.Column('meta_user_id', sa.Text(), nullable=True),
    sa.Column('resolved', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_requests')),
    sa.UniqueConstraint('confirmation_code', name=op.f('uq_deletion_requests_confirmation_code')),
    sa.UniqueConstraint('signed_request_hash', name=op.f('uq_deletion_requests_signed_request_hash')),
    schema='privacy'
    )
    op.create_index(op.f('ix_deletion_requests_status_last_sent_at'), 'deletion_requests',
                    ['status', 'last_sent_at'], unique=False, schema='privacy')
    op.create_index(op.f('ix_deletion_requests_subject_hash'), 'deletion_requests', ['subject_hash'], unique=False,
                    schema='privacy')
    op.create_table('deletion_steps',
    sa.Column('request_id', sa.UUID(), nullable=False),
    sa.Column('service', sa.Text(), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('done_at', sa.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('erased', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['privacy.deletion_requests.id'],
                            name=op.f('fk_deletion_steps_request_id_deletion_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'service', name=op.f('pk_deletion_steps')),
    schema='privacy'
    )


def downgrade() -> None:
    op.drop_table('deletion_steps', schema='privacy')
    op.drop_index(op.f('ix_deletion_requests_subject_hash'), table_name='deletion_requests', schema='privacy')
    op.drop_index(op.f('ix_deletion_requests_status_last_sent_at'), table_name='deletion_requests', schema='privacy')
    op.drop_table('deletion_requests', schema='privacy')
