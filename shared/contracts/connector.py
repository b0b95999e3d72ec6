"""What the connector answers other services about an account (the publisher: before publishing, and for a token
to publish with), parsed by the connector's routes as they answer and by the caller as it reads."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class Permissions(BaseModel):
    granted: list[str]
    declined: list[str]


class AccountOut(BaseModel):
    id: uuid.UUID
    platform: str
    kind: str
    external_id: str
    name: str | None
    username: str | None
    avatar_url: str | None
    category: str | None
    tasks: list[str]
    permissions: Permissions
    status: str
    publishable: bool
    unpublishable_reason: str | None
    connected_at: datetime
    updated_at: datetime
    provider: str = Field(description="The login that connected the account (facebook, instagram or tiktok): "
                                      "reconnecting it goes through that login again.")
    via_page_id: str | None = Field(description="For an Instagram account reached through a Facebook Page, "
                                                "that Page's id.")


class AccountDetail(AccountOut):
    """What the publisher is told about an account: the same as the public list says."""


class TokenOut(BaseModel):
    access_token: str
    expires_at: datetime | None
    platform: str
    kind: str
    external_id: str
    via_page_id: str | None


class AccountStatusOut(BaseModel):
    id: uuid.UUID
    status: str
    # For a refused TikTok token named by its fingerprint: the refreshed token to try again with.
    access_token: str | None = None
