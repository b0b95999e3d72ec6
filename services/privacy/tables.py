from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.messaging.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = schema_metadata("privacy")


outbox, inbox = messaging_tables(Base.metadata)


class DataSubject(Base):
    """Every person Postifys holds data about, so a deletion request knows whom it covers."""

    __tablename__ = "data_subjects"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    email_verified_at: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))


class DeletionRequest(Base):
    """A request to delete an account or connected data, and what is left of it afterwards: the code, the scope,
    the times and each service's outcome. Who asked is kept only as a keyed hash (to match repeat requests);
    the ids the saga needs are cleared when it completes."""

    __tablename__ = "deletion_requests"
    __table_args__ = (sa.Index(None, "status", "last_sent_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    confirmation_code: Mapped[str] = mapped_column(sa.Text, unique=True)
    scope: Mapped[str] = mapped_column(sa.Text)  # account | connections
    source: Mapped[str] = mapped_column(sa.Text)  # user | meta
    subject_hash: Mapped[str] = mapped_column(sa.Text, index=True)
    signed_request_hash: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    status: Mapped[str] = mapped_column(sa.Text)  # pending | in_progress | completed | failed
    requested_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))
    last_sent_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True))
    alerted_at: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))
    # Only while the request runs:
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    account_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    meta_user_id: Mapped[str | None] = mapped_column(sa.Text)
    resolved: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class DeletionStep(Base):
    """One service's part of a request: phase 1 (identity, connector, media) finds and revokes, phase 2 (publisher,
    webhooks) erases what is about the accounts the connector found."""

    __tablename__ = "deletion_steps"

    request_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("deletion_requests.id", ondelete="CASCADE"),
                                                  primary_key=True)
    service: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    phase: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.Text)  # pending | done
    done_at: Mapped[datetime | None] = mapped_column(sa.TIMESTAMP(timezone=True))
    erased: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)


class MetaDeauthorization(Base):
    """Each Deauthorize callback taken, by its signed request's keyed hash, so that the same one again does nothing
    more (it would disconnect accounts reconnected since). Kept only while Meta's signature on it is still good."""

    __tablename__ = "meta_deauthorizations"

    signed_request_hash: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(sa.TIMESTAMP(timezone=True), index=True)
