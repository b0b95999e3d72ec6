from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = schema_metadata("privacy")


outbox, inbox = messaging_tables(Base.metadata)


class DataSubject(Base):
    """Every person Postifys holds data about, so a deletion request knows whom it covers."""

    __tablename__ = "data_subjects"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    email_verified_at: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))
