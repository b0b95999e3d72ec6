from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import INET, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.messaging.outbox import messaging_tables

Timestamp = sa.TIMESTAMP(timezone=True)


class Base(DeclarativeBase):
    metadata = schema_metadata("identity")


outbox, inbox = messaging_tables(Base.metadata)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str] = mapped_column(sa.Text, unique=True)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    email_verified_at: Mapped[datetime | None] = mapped_column(Timestamp)
    password_changed_at: Mapped[datetime] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # The IANA name times are shown in; what is stored is always UTC.
    timezone: Mapped[str] = mapped_column(sa.Text, server_default="UTC", default="UTC")


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (sa.Index(None, "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, unique=True)
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class EmailToken(Base):
    """Single-use links mailed to a user: email verification, password reset and email change."""

    __tablename__ = "email_tokens"
    __table_args__ = (sa.Index(None, "user_id", "purpose", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.Text)
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # An email change's link proves this address, the one the account switches to; other links prove none.
    email: Mapped[str | None] = mapped_column(sa.Text)


class NotificationPreferences(Base):
    """Which mails a person wants about their posts and accounts; no row means the defaults."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    target_failed: Mapped[bool] = mapped_column(sa.Boolean)
    post_published: Mapped[bool] = mapped_column(sa.Boolean)
    reauth_required: Mapped[bool] = mapped_column(sa.Boolean)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class SignInAttempt(Base):
    """The sign-in audit trail; also what the failed-attempt limits count."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (sa.Index(None, "email_key", "at"), sa.Index(None, "ip", "at"), sa.Index(None, "user_id", "at"),
                      sa.Index(None, "at"))

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    email_key: Mapped[str] = mapped_column(sa.Text)
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str] = mapped_column(sa.Text)


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hits"
    __table_args__ = (sa.Index(None, "key", "at"), sa.Index(None, "at"))

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(Timestamp)
