"""What the media service asks the publisher: which library items a post not yet final still names."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx

InUse = Callable[[list[uuid.UUID]], Awaitable[set[uuid.UUID]]]


class PostsInUse:
    def __init__(self, http: httpx.AsyncClient, publisher_url: str) -> None:
        self.http = http
        self.url = f"{publisher_url}/internal/media/in-use"

    async def __call__(self, media_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Raises when the publisher cannot answer: then nothing may be deleted."""
        response = await self.http.post(self.url, json={"media_ids": [str(m) for m in media_ids]})
        response.raise_for_status()
        return {uuid.UUID(m) for m in response.json()["in_use"]}
