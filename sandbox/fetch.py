"""The platforms' media crawler: a media URL handed to a platform is really fetched over HTTP, the way Meta and
TikTok fetch it, through one pooled client. Only the response head is read, never the whole file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import cast
from urllib.parse import urlsplit

import httpx
from fastapi import Request

from sandbox.media import MediaFacts, fetched_facts, unreachable

FETCH_TIMEOUT_SECONDS = 10.0


class MediaFetcher:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, transport=transport,
                                         headers={"User-Agent": "facebookexternalhit/1.1 (postifys sandbox)"},
                                         limits=httpx.Limits(max_connections=50, max_keepalive_connections=10))

    async def fetch(self, url: str, *, follow_redirects: bool = True) -> MediaFacts:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return unreachable(url, "not an http(s) URL")
        try:
            async with self._client.stream("GET", url, follow_redirects=follow_redirects) as response:
                length = response.headers.get("content-length")
                size = int(length) if length and length.isdigit() else None
                return fetched_facts(url, response.status_code, response.headers.get("content-type"), size)
        except httpx.HTTPError as exc:
            return unreachable(url, f"{type(exc).__name__}: {exc}")

    async def fetch_all(self, urls: Iterable[str], *, follow_redirects: bool = True) -> list[MediaFacts]:
        return list(await asyncio.gather(*(self.fetch(u, follow_redirects=follow_redirects) for u in urls)))

    async def aclose(self) -> None:
        await self._client.aclose()


def media_fetcher(request: Request) -> MediaFetcher:
    return cast(MediaFetcher, request.app.state.fetcher)
