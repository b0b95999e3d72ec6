"""A user's data export, part by part: what identity, the connector, the publisher, webhooks and media each answer
the privacy service about their own data, and the rows of each part. Each service answers with its part's model and
privacy parses the answer into the same model, so only the fields named here ever leave a service: never a token,
a token hash, a password hash, a sealed token, a vault key or an OAuth state hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from shared.contracts.media import MediaProbe

# Deletion requests and platform events have always been written 2026-01-02T03:04:05+00:00 where the other parts
# write ...Z: a downloaded export keeps reading as it always did.
OffsetTime = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
                       WithJsonSchema({"type": "string", "format": "date-time"})]


# --- identity ------------------------------------------------------------------------------------------------

class NotificationChoicesExport(BaseModel):
    """Which mails the person asked for; the defaults until they chose."""

    target_failed: bool = True
    post_published: bool = False
    reauth_required: bool = True


class ProfileExport(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    email_verified: bool
    email_verified_at: datetime | None
    password_changed_at: datetime = Field(description="When the password was last set (at sign-up, at first).")
    created_at: datetime
    timezone: str = Field(description="The IANA time zone posts are scheduled in, e.g. Europe/Paris.")
    pending_email: str | None = Field(default=None, description="The address an email change waits to be confirmed "
                                                                "at.")
    notifications: NotificationChoicesExport = Field(default_factory=NotificationChoicesExport)


class SessionExport(BaseModel):
    """A signed-in browser, revoked or not."""

    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = Field(description="When it was ended before it expired: signed out, revoked "
                                        "from another session, or by a password change.")
    ip: str | None = Field(description="The address it signed in from.")
    user_agent: str | None


class SignInExport(BaseModel):
    """One check of this person's password, whoever made it: a sign-in, or the password asked again to change it
    or to confirm an action."""

    at: datetime
    ip: str | None
    user_agent: str | None
    outcome: str = Field(description="succeeded, failed or throttled for a sign-in; failed_password_change, "
                                     "throttled_password_confirm and the like when it was asked again.")


class IdentityExport(BaseModel):
    profile: ProfileExport
    sessions: list[SessionExport]
    sign_in_history: list[SignInExport]


# --- connector -----------------------------------------------------------------------------------------------

class ConnectionExport(BaseModel):
    """A platform login the person went through (Facebook, Instagram or TikTok), with what they allowed."""

    id: uuid.UUID
    provider: str = Field(description="facebook, instagram or tiktok.")
    external_user_id: str = Field(description="The person's id at the platform.")
    name: str | None
    granted_scopes: list[str]
    declined_scopes: list[str]
    created_at: datetime
    updated_at: datetime


class AccountEventExport(BaseModel):
    at: datetime
    kind: str = Field(description="connected, reconnected, token_refreshed, reauth_required or disconnected.")
    detail: str | None = Field(description="Why, when the platform or the person gave a reason.")


class AccountExport(BaseModel):
    """A connected Facebook Page, Instagram account or TikTok creator, with its history."""

    id: uuid.UUID
    connection_id: uuid.UUID = Field(description="The login (in connections) it was connected through.")
    platform: str
    kind: str
    external_id: str = Field(description="The account's id at the platform.")
    name: str | None
    username: str | None
    avatar_url: str | None
    category: str | None
    tasks: list[str] = Field(description="What the person may do on a Facebook Page, as Facebook says.")
    via_page_id: str | None = Field(description="For an Instagram account reached through a Facebook Page, "
                                                "that Page's id.")
    status: str = Field(description="active, reauth_required or disconnected.")
    status_reason: str | None
    unpublishable_reason: str | None = Field(description="Why Postifys cannot publish to it; null when it can.")
    connected_at: datetime
    updated_at: datetime
    disconnected_at: datetime | None
    events: list[AccountEventExport]


class ConnectorExport(BaseModel):
    connections: list[ConnectionExport]
    accounts: list[AccountExport]


# --- publisher: each post as GET /api/v1/posts/{id} shows it ---------------------------------------------------

class TimelineEntryExport(BaseModel):
    at: datetime
    step: str
    status: str
    request: str | None = Field(description="The platform call made at this step, e.g. POST /{page}/photos.")
    response_code: str | None
    platform_ids: dict[str, Any] | None = Field(description="The ids the platform gave at this step.")
    error_class: str | None
    message: str | None


class TargetExport(BaseModel):
    """The post on one account."""

    id: uuid.UUID
    account_id: uuid.UUID
    platform: str
    kind: str
    status: str
    settings: dict[str, Any] = Field(description="The per-platform settings it was given.")
    caption: str | None = Field(description="This account's own caption; null when it publishes the post's.")
    due_at: datetime | None
    attempts: int
    remote_id: str | None = Field(description="The post's id at the platform, once published.")
    permalink: str | None
    error_class: str | None
    error_message: str | None
    needs_review: bool = Field(description="Whether the outcome is uncertain and the account should be checked.")
    finished_at: datetime | None
    timeline: list[TimelineEntryExport] = Field(description="Every step, request and platform answer, in order.")


class PostExport(BaseModel):
    id: uuid.UUID
    caption: str
    media: list[dict[str, Any]] = Field(description="The media as given: url, type, alt_text, duration_sec.")
    scheduled_at: datetime | None
    timezone: str | None
    draft: bool
    status: str
    due_at: datetime | None = Field(description="When the post is due (its targets' due time; the creation time for "
                                    "one published at once); null for a draft given no time.")
    created_at: datetime
    updated_at: datetime
    targets: list[TargetExport]


class PublisherExport(BaseModel):
    posts: list[PostExport]


# --- webhooks ------------------------------------------------------------------------------------------------

class PlatformDeliveryExport(BaseModel):
    """One notification a platform sent about the person's accounts."""

    received_at: OffsetTime
    provider: str = Field(description="meta or tiktok.")
    events: list[dict[str, Any]] = Field(description="Only the events about the person's accounts, each as the "
                                                     "platform sent it, with its type under `type`.")


class WebhooksExport(BaseModel):
    platform_events: list[PlatformDeliveryExport] = Field(description="Newest first.")


# --- media: the library's files described, never their bytes (those stay downloadable from the library) -------

class MediaItemExport(BaseModel):
    """One file of the person's media library."""

    id: uuid.UUID
    name: str = Field(description="The file's name as it was uploaded.")
    kind: str = Field(description="image or video.")
    size_bytes: int
    sha256: str = Field(description="The file's SHA-256 digest, to check a copy of it against.")
    probe: MediaProbe = Field(description="What Postifys read from the file, which the platforms' limits are "
                                          "checked against when a post uses it: format, dimensions, duration, codecs.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="When a post last used it; a file no post uses is deleted "
                                                      "after a while.")


class MediaUploadExport(BaseModel):
    """An upload started and not finished (deleted after a day without progress)."""

    id: uuid.UUID
    name: str
    kind: str
    declared_type: str = Field(description="The file type given when the upload started, e.g. video/mp4.")
    size_bytes: int = Field(description="The whole file's size, as announced.")
    received_bytes: int
    created_at: datetime
    updated_at: datetime


class MediaExport(BaseModel):
    media: list[MediaItemExport] = Field(description="Oldest first.")
    media_uploads: list[MediaUploadExport]


# --- privacy's own -------------------------------------------------------------------------------------------

class DeletionRequestExport(BaseModel):
    id: uuid.UUID
    confirmation_code: str
    scope: str = Field(description="account, or connections (some or all connected accounts).")
    status: str = Field(description="pending, in_progress, completed or failed.")
    requested_at: OffsetTime
    completed_at: OffsetTime | None
