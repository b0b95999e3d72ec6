from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.messaging.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = schema_metadata("webhooks")


outbox, inbox = messaging_tables(Base.metadata)


class Delivery(Base):
    """Every webhook delivery that passed the signature check (and every one after it that was malformed),
    stored before it is acknowledged."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("provider", "dedupe_key"), sa.Index(None, "received_at"),
                      sa.Index("ix_deliveries_subjects", "subjects", postgresql_using="gin"))

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(sa.Text)
    dedupe_key: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    source_ip: Mapped[str | None] = mapped_column(INET)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.Text)  # accepted | rejected
    reason: Mapped[str | None] = mapped_column(sa.Text)
    event_types: Mapped[list[str]] = mapped_column(JSONB)
    # The platform ids it is about (Page, Instagram account, Facebook user, TikTok open_id): what deletion matches.
    subjects: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")


class DeliveryKey(Base):
    """The dedupe key of every delivery taken, kept after its body is purged or erased (it is a hash of the
    content, nothing readable): a platform's redelivery, or a replay of a captured one, finds it and is a duplicate."""

    __tablename__ = "delivery_keys"

    provider: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True), index=True)
