"""delivery subjects: the platform ids a delivery is about, so a deletion can find it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:10:00
"""
import json
from collections.abc import Sequence
from typing import Any

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
    backfill_subjects()


def subjects_in(provider: str, body: bytes) -> list[str]:
    """The ids a stored body is about, as the service now records them (kept here: a migration must not change
    with the code)."""
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    if not isinstance(payload, dict):
        return []
    if provider == "tiktok":
        openid = payload.get("user_openid")
        return [openid] if isinstance(openid, str) and openid else []
    entries = payload.get("entry") if isinstance(payload.get("entry"), list) else []
    return sorted({str(e["id"]) for e in entries if isinstance(e, dict) and e.get("id") not in (None, "")})


def backfill_subjects() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, provider, body FROM webhooks.deliveries")).all()
    for row in rows:
        found = subjects_in(row.provider, bytes(row.body))
        if found:
            connection.execute(sa.text("UPDATE webhooks.deliveries SET subjects = :subjects WHERE id = :id")
                               .bindparams(sa.bindparam("subjects", type_=postgresql.ARRAY(sa.Text()))),
                               {"subjects": found, "id": row.id})


def downgrade() -> None:
    op.drop_index('ix_deliveries_subjects', table_name='deliveries', schema='webhooks')
    op.drop_column('deliveries', 'subjects', schema='webhooks')
