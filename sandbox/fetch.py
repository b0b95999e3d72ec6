"""The platforms' media crawler: a media URL handed to a platform is really fetched over HTTP, the way Meta and
TikTok fetch it, through one pooled client. A /_sandbox/media URL's body is filler, so only its head is read; any
other URL (Postifys' signed media URLs) is read whole into a temporary file, hashed and examined, and what was
fetched is kept for the tests (`fetched`, shown with each publish and at /_sandbox/fetches)."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import httpx
from fastapi import Request

from sandbox.media import SANDBOX_MEDIA_PATH, MediaFacts, fetched_facts, unreachable
from sandbox.media_check import examine

FETCH_TIMEOUT_SECONDS = 10.0
# What the crawler reads of one file at most (TikTok's photos and Meta's videos stay well under it in tests).
MAX_FETCH_BYTES = 512 * 1024 * 1024
READ_CHUNK = 1024 * 1024


class MediaFetcher:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, transport=transport,
                                         headers={"User-Agent": "facebookexternalhit/1.1 (postifys sandbox)"},
                                         limits=httpx.Limits(max_connections=50, max_keepalive_connections=10))
        self.fetched: dict[str, MediaFacts] = {}  # the bytes examined, by URL (the latest fetch of each)

    async def fetch(self, url: str, *, follow_redirects: bool = True) -> MediaFacts:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return unreachable(url, "not an http(s) URL")
        try:
            async with self._client.stream("GET", url, follow_redirects=follow_redirects) as response:
                length = response.headers.get("content-length")
                size = int(length) if length and length.isdigit() else None
                claimed = response.headers.get("content-type")
                if response.status_code != 200 or SANDBOX_MEDIA_PATH in parts.path:
                    return fetched_facts(url, response.status_code, claimed, size)
                facts = await self._examined(url, response)
        except httpx.HTTPError as exc:
            return unreachable(url, f"{type(exc).__name__}: {exc}")
        self.fetched[url] = facts
        return facts

    async def _examined(self, url: str, response: httpx.Response) -> MediaFacts:
        digest = hashlib.sha256()
        size = 0
        with tempfile.TemporaryDirectory(prefix="sandbox-fetch-") as folder:
            path = Path(folder) / "media"
            with path.open("wb") as out:
                async for chunk in response.aiter_bytes(READ_CHUNK):
                    size += len(chunk)
                    if size > MAX_FETCH_BYTES:
                        return unreachable(url, f"larger than the {MAX_FETCH_BYTES} bytes the crawler reads")
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
            found = await asyncio.to_thread(examine, path)
        return MediaFacts(url=url, problem=None, status_code=response.status_code, content_type=found.content_type,
                          size=size, duration=found.duration, width=found.width, height=found.height,
                          sha256=digest.hexdigest(), format=found.format, video_codec=found.video_codec)

    async def fetch_all(self, urls: Iterable[str], *, follow_redirects: bool = True) -> list[MediaFacts]:
        return list(await asyncio.gather(*(self.fetch(u, follow_redirects=follow_redirects) for u in urls)))

    def forget(self) -> None:
        self.fetched.clear()

    async def aclose(self) -> None:
        await self._client.aclose()


def media_fetcher(request: Request) -> MediaFetcher:
    return cast(MediaFetcher, request.app.state.fetcher)
