from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.messaging.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = schema_metadata("media")


outbox, inbox = messaging_tables(Base.metadata)


class Item(Base):
    """One stored file of a person's library, with what its probe found."""

    __tablename__ = "items"
    __table_args__ = (sa.Index(None, "user_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)  # image | video
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.Text)
    storage_key: Mapped[str] = mapped_column(sa.Text)
    probe: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    # Set once a post using it is published (the publisher will say so): its signed URLs stop working.
    urls_revoked_at: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))
    # When a post last asked for it (the publisher resolving it); retention removes what no post used for long.
    last_used_at: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))


class Upload(Base):
    """A resumable upload in progress: how far it got, and the storage's own state to go on from there."""

    __tablename__ = "uploads"
    __table_args__ = (sa.Index(None, "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    declared_type: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    storage_key: Mapped[str] = mapped_column(sa.Text)
    storage_state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    # The lease of the request writing a chunk, taken and released in short transactions (none stays open while
    # the body streams in); one past `writing_until` belongs to a writer that died, and the next may take it over.
    writer: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    writing_until: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))
