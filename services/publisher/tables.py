from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.messaging.outbox import messaging_tables

Timestamp = sa.TIMESTAMP(timezone=True)


class Base(DeclarativeBase):
    metadata = schema_metadata("publisher")


outbox, inbox = messaging_tables(Base.metadata)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (sa.Index(None, "user_id", "created_at", "id"),
                      # A person's posts by due time (the calendar, sort=due), newest or oldest first.
                      sa.Index("ix_posts_user_id_due_at", "user_id", "due_at", "id",
                               postgresql_where=sa.text("due_at IS NOT NULL")),
                      # Which posts name a library item (media_use: before the media service deletes a file).
                      sa.Index("ix_posts_media", "media", postgresql_using="gin",
                               postgresql_ops={"media": "jsonb_path_ops"}))

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    caption: Mapped[str] = mapped_column(sa.Text)
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    scheduled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    timezone: Mapped[str | None] = mapped_column(sa.Text)
    draft: Mapped[bool] = mapped_column(sa.Boolean)
    # When the post is due (its targets' due time when they were scheduled; the creation time for "now"); None
    # for a draft given no time. A retried target's own due_at moves on; this stays.
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Target(Base):
    """One post on one account: its own unit of work, state machine and platform ids."""

    __tablename__ = "targets"
    __table_args__ = (
        sa.Index("ix_targets_due", "next_attempt_at", postgresql_where=sa.text(
            "status IN ('scheduled', 'queued', 'publishing', 'processing', 'unknown')")),
        sa.Index(None, "account_id", "status"),
        # TikTok webhooks name the publish_id only.
        sa.Index("ix_targets_publish_id", sa.text("(checkpoint->>'publish_id')")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    post_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    platform: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    external_id: Mapped[str] = mapped_column(sa.Text)
    via_page_id: Mapped[str | None] = mapped_column(sa.Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # This account's own caption; None: the post's.
    caption: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.Text)
    lease_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Where the pipeline stands and every platform id obtained so far, committed before the next call.
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSONB)
    remote_id: Mapped[str | None] = mapped_column(sa.Text)
    permalink: Mapped[str | None] = mapped_column(sa.Text)
    error_class: Mapped[str | None] = mapped_column(sa.Text)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    needs_review: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)


class TargetEvent(Base):
    """The target's timeline: every step, request and platform answer."""

    __tablename__ = "target_events"
    __table_args__ = (sa.Index("ix_target_events_error_at", "at",
                               postgresql_where=sa.text("error_class IS NOT NULL OR status = 'failed'")),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("targets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    step: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text)
    request: Mapped[str | None] = mapped_column(sa.Text)
    response_code: Mapped[str | None] = mapped_column(sa.Text)
    platform_ids: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error_class: Mapped[str | None] = mapped_column(sa.Text)
    message: Mapped[str | None] = mapped_column(sa.Text)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.Text)
    post_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class AccountAuth(Base):
    """Whether an account's authorization works, as of the newest account event seen: events may arrive
    late, twice or out of order, so an older one never overrides a newer one."""

    __tablename__ = "account_auth"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reauth_required: Mapped[bool] = mapped_column(sa.Boolean)
    as_of: Mapped[datetime] = mapped_column(Timestamp)


class AccountHold(Base):
    """An account's targets wait until a time: a platform limit or usage level asked for it."""

    __tablename__ = "account_holds"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    until: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class EarlyOutcome(Base):
    """A TikTok webhook that arrived before the publish_id it names was saved (the platform can be quicker
    than our commit); the target's next step reads it."""

    __tablename__ = "early_outcomes"

    publish_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    event: Mapped[str] = mapped_column(sa.Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class PlatformCall(Base):
    """Calls made per account and endpoint, to stay under per-token limits (TikTok init 6/min…)."""

    __tablename__ = "platform_calls"
    __table_args__ = (sa.Index(None, "account_id", "endpoint", "at"), sa.Index(None, "at"))

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    endpoint: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(Timestamp)
