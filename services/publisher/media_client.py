"""The publisher's questions to the media service about a person's library items: what an item is (its probe) with a
fresh signed URL for the platforms, and the stored bytes in ranges, for uploads that send the file themselves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import httpx

from shared.contracts.media import MediaItem
from shared.errors import PostifysError
from shared.internal import USER_HEADER


class MediaUnavailable(PostifysError):
    status_code = 503
    code = "media_unavailable"
    message = "The media library cannot be reached right now. Try again shortly."


class MediaMissing(Exception):
    """No such item in the person's library (never theirs, or deleted since)."""


class Grant(MediaItem):
    """A library item as the media service answers the publisher: with a URL that works without a session."""

    url: str
    url_expires_at: datetime


class MediaClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, auth: httpx.Auth) -> None:
        self.http = http
        self.base_url = base_url
        self.auth = auth  # per request: the pooled client talks to the platforms too

    async def item(self, user_id: uuid.UUID, media_id: uuid.UUID) -> Grant:
        try:
            response = await self.http.get(f"{self.base_url}/internal/media/{media_id}",
                                           headers={USER_HEADER: str(user_id)}, auth=self.auth)
        except httpx.HTTPError:
            raise MediaUnavailable() from None
        if response.status_code == 404:
            raise MediaMissing()
        if response.status_code != 200:
            raise MediaUnavailable()
        try:
            return Grant.model_validate_json(response.content)
        except ValueError:
            raise MediaUnavailable() from None

    async def read(self, user_id: uuid.UUID, media_id: uuid.UUID, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes start..stop-1 of the stored file, as they arrive (never the whole range in memory)."""
        headers = {USER_HEADER: str(user_id), "Range": f"bytes={start}-{stop - 1}"}
        try:
            async with self.http.stream("GET", f"{self.base_url}/internal/media/{media_id}/content",
                                        headers=headers, auth=self.auth) as response:
                if response.status_code == 404:
                    raise MediaMissing()
                if response.status_code != 206:
                    raise MediaUnavailable()
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.HTTPError:
            raise MediaUnavailable() from None
