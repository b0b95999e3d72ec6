from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.messaging.outbox import messaging_tables

Timestamp = sa.TIMESTAMP(timezone=True)
Texts = ARRAY(sa.Text)


class Base(DeclarativeBase):
    metadata = schema_metadata("connector")


outbox, inbox = messaging_tables(Base.metadata)


class OAuthState(Base):
    """One authorization attempt: bound to the user's session, single use, short-lived."""

    __tablename__ = "oauth_states"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    state_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, unique=True)
    provider: Mapped[str] = mapped_column(sa.Text)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Connection(Base):
    """One platform login of one user: what the platform granted and declined."""

    __tablename__ = "connections"
    __table_args__ = (sa.UniqueConstraint("user_id", "provider", "external_user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    provider: Mapped[str] = mapped_column(sa.Text)
    external_user_id: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    granted_scopes: Mapped[list[str]] = mapped_column(Texts)
    declined_scopes: Mapped[list[str]] = mapped_column(Texts)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Account(Base):
    """A connected asset Postifys can publish to: a Facebook Page, an Instagram account, a TikTok creator."""

    __tablename__ = "accounts"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind", "external_id"), sa.Index(None, "user_id", "connected_at"),
                      sa.Index(None, "status", "checked_at"))

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    connection_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    external_id: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    username: Mapped[str | None] = mapped_column(sa.Text)
    avatar_url: Mapped[str | None] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.Text)
    tasks: Mapped[list[str]] = mapped_column(Texts)
    # For an Instagram account reached through a Facebook Page: that Page's id.
    via_page_id: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text)
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    connected_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    checked_at: Mapped[datetime] = mapped_column(Timestamp)
    disconnected_at: Mapped[datetime | None] = mapped_column(Timestamp)


class AccountEvent(Base):
    """The account's history, kept across reconnects and disconnects."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    kind: Mapped[str] = mapped_column(sa.Text)
    detail: Mapped[str | None] = mapped_column(sa.Text)


class Secret(Base):
    """A sealed platform token; see vault.py. Owned by a connection (user token) or an account."""

    __tablename__ = "secrets"
    __table_args__ = (sa.UniqueConstraint("owner_id", "purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    purpose: Mapped[str] = mapped_column(sa.Text)
    kek_id: Mapped[str] = mapped_column(sa.Text, index=True)
    wrapped_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class ErasureAnswer(Base):
    """What the connector erased for a deletion request, kept until privacy says the request is complete: the
    accounts are gone, so asking again could otherwise only answer 'nothing', and the other services would keep
    what they hold about them."""

    __tablename__ = "erasure_answers"

    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_ids: Mapped[list[str]] = mapped_column(Texts)
    account_ids: Mapped[list[str]] = mapped_column(Texts)
    external_ids: Mapped[list[str]] = mapped_column(Texts)
    answered_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
