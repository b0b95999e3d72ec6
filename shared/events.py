"""The event contracts between services. Additive changes only; a breaking change is a new version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    """What travels on the bus for every event."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    correlation_id: str | None = None
    data: dict[str, Any]


class EventData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    type: ClassVar[str]
    version: ClassVar[int] = 1


class UserRegistered(EventData):
    """Sent when someone signs up."""

    type = "user.registered"
    user_id: uuid.UUID


class UserEmailVerified(EventData):
    """Sent when a user proves they own their email address."""

    type = "user.email_verified"
    user_id: uuid.UUID


class UserPasswordChanged(EventData):
    """Sent after a password change or reset; every other session of the user has been revoked."""

    type = "user.password_changed"
    user_id: uuid.UUID
    reason: Literal["change", "reset"]


class AccountEventData(EventData):
    account_id: uuid.UUID
    user_id: uuid.UUID
    platform: str
    kind: str
    name: str | None = None


class AccountConnected(AccountEventData):
    """Sent when a user connects (or reconnects) a Page, an Instagram account or a TikTok creator."""

    type = "account.connected"
    reconnected: bool = False


class AccountReauthRequired(AccountEventData):
    """Sent when a platform stops accepting an account's authorization; the user must reconnect it."""

    type = "account.reauth_required"
    reason: str


class AccountDisconnected(AccountEventData):
    """Sent when an account is disconnected; its tokens are destroyed."""

    type = "account.disconnected"
    reason: str | None = None


class PlatformWebhook(EventData):
    """Sent for each event of a verified platform webhook. The envelope's type is
    `webhook.<provider>.<event>`, e.g. `webhook.tiktok.post.publish.complete`."""

    type = "webhook"
    delivery_id: uuid.UUID
    provider: str
    event: dict[str, Any]


class PostScheduled(EventData):
    """Sent when a post with targets is accepted for later or immediate publishing."""

    type = "post.scheduled"
    post_id: uuid.UUID
    user_id: uuid.UUID
    due_at: datetime
    target_ids: list[uuid.UUID]


class TargetEventData(EventData):
    post_id: uuid.UUID
    target_id: uuid.UUID
    user_id: uuid.UUID
    account_id: uuid.UUID
    platform: str


class PostTargetPublished(TargetEventData):
    """Sent when one target of a post is live on its platform (or in the creator's inbox)."""

    type = "post.target.published"
    remote_id: str
    permalink: str | None = None


class PostTargetFailed(TargetEventData):
    """Sent when one target of a post failed for good."""

    type = "post.target.failed"
    error_class: str
    message: str
    needs_review: bool = False


class PostCompleted(EventData):
    """Sent when every target of a post is final (published, failed or cancelled), with the library media it used."""

    type = "post.completed"
    post_id: uuid.UUID
    user_id: uuid.UUID
    published: int
    failed: int
    cancelled: int
    media_ids: list[uuid.UUID] = Field(default_factory=list, description=(
        "The library items the post used that no other post not yet final uses: their signed URLs can stop working."))


EVENT_TYPES: dict[str, type[EventData]] = {
    model.type: model for model in (UserRegistered, UserEmailVerified, UserPasswordChanged, AccountConnected,
                                    AccountReauthRequired, AccountDisconnected, PostScheduled, PostTargetPublished,
                                    PostTargetFailed, PostCompleted)
}


def envelope_for(event: EventData, *, producer: str, correlation_id: str | None,
                 event_type: str | None = None) -> Envelope:
    return Envelope(
        type=event_type or event.type,
        version=event.version,
        producer=producer,
        correlation_id=correlation_id,
        data=event.model_dump(mode="json"),
    )


def parse_data(envelope: Envelope) -> EventData:
    model = PlatformWebhook if envelope.type.startswith("webhook.") else EVENT_TYPES[envelope.type]
    return model.model_validate(envelope.data)


ErasureScope = Literal["account", "connections"]


class ErasureRequested(EventData):
    """Phase one of a deletion: identity (for an account) and the connector act on who, the connector finds
    which connected accounts are covered. `account_ids` None means all of the user's; `meta_user_id` (from
    Meta's callback) names a Facebook/Instagram login instead of a user."""

    type = "privacy.erasure.requested"
    request_id: uuid.UUID
    scope: ErasureScope
    user_id: uuid.UUID | None = None
    account_ids: list[uuid.UUID] | None = None
    meta_user_id: str | None = None


class ErasureAccountsResolved(EventData):
    """Phase two: the accounts the connector erased, for the services that hold data about them."""

    type = "privacy.erasure.accounts_resolved"
    request_id: uuid.UUID
    scope: ErasureScope
    user_ids: list[uuid.UUID]
    account_ids: list[uuid.UUID]
    external_ids: list[str]


class ErasureStepDone(EventData):
    """A service reporting that it erased what it held for a request (counts only, never the data)."""

    type = "privacy.erasure.step_done"
    request_id: uuid.UUID
    service: str
    erased: dict[str, int] = Field(default_factory=dict)
    # The connector's answer to phase one.
    user_ids: list[uuid.UUID] = Field(default_factory=list)
    account_ids: list[uuid.UUID] = Field(default_factory=list)
    external_ids: list[str] = Field(default_factory=list)


class MetaDeauthorized(EventData):
    """Someone removed the Postifys app on Facebook: their Facebook and Instagram connections are revoked."""

    type = "privacy.meta.deauthorized"
    meta_user_id: str


class ErasureCompleted(EventData):
    """Every service has erased its part; what was kept only to finish the request can go."""

    type = "privacy.erasure.completed"
    request_id: uuid.UUID
