"""Transactional outbox (events written with the state change) and inbox (each event applied once).
Every service schema has the same two tables."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Envelope, EventData, envelope_for


def messaging_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("processed_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    return outbox, inbox


class Outbox:
    """Writes events in the caller's transaction; the relay publishes them after commit."""

    def __init__(self, table: sa.Table, *, producer: str) -> None:
        self.table = table
        self.producer = producer
        self._insert = sa.insert(table)

    async def add(self, session: AsyncSession, event: EventData, event_type: str | None = None) -> Envelope:
        correlation_id = structlog.contextvars.get_contextvars().get("correlation_id")
        envelope = envelope_for(event, producer=self.producer, correlation_id=correlation_id, event_type=event_type)
        # On the session's connection, not through the ORM: this runs for every event, so it stays lean.
        connection = await session.connection()
        await connection.execute(self._insert, {"event_id": envelope.event_id, "type": envelope.type,
                                                "payload": envelope.model_dump(mode="json")})
        return envelope


class Inbox:
    def __init__(self, table: sa.Table) -> None:
        self.table = table
        # Text, not the PostgreSQL dialect's insert(): that one is compiled anew on every call (no cache key).
        self._claim = sa.text(f"INSERT INTO {table.schema}.{table.name} (event_id, type) "  # noqa: S608 (our names)
                              "VALUES (:event_id, :type) ON CONFLICT DO NOTHING RETURNING event_id").bindparams(
            sa.bindparam("event_id", type_=UUID(as_uuid=True)), sa.bindparam("type", type_=sa.Text))

    async def claim(self, session: AsyncSession, event_id: uuid.UUID, event_type: str) -> bool:
        """True the first time an event is seen; in the handler's transaction, so a rollback forgets it."""
        connection = await session.connection()
        result = await connection.execute(self._claim, {"event_id": event_id, "type": event_type})
        return result.first() is not None
