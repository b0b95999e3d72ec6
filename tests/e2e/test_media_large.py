"""Acceptance of the uploads at their real size, through the gateway over real HTTP on both backends: a 200 MB
video sent in chunks whose connection drops half way resumes from the server's offset, the storage holds the very
same bytes (by hash), and the media service's memory stays flat while they stream (sampled from /proc)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from deploy.system import resident_memory_kib
from tests.e2e.media_support import UPLOAD_CHUNK_HEADERS, stored_sha256
from tests.media_samples import image_bytes, mp4, write_sparse
from tests.support import Stack, sign_in, sign_up

SIZE = 200 * 1024 * 1024
REQUEST_BYTES = 32 * 1024 * 1024  # what one PATCH carries
READ_BYTES = 1024 * 1024
MEMORY_GROWTH_KIB = 64 * 1024


class Dropped(Exception):
    """The client's connection going away in the middle of a chunk."""


@pytest.fixture(scope="module")
def large_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real MP4 followed by a `free` box up to 200 MB (a hole on disk), and its hash."""
    path = write_sparse(tmp_path_factory.mktemp("large") / "long.mp4", mp4(640, 360, 2.0), SIZE)
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(READ_BYTES):
            digest.update(chunk)
    return path, digest.hexdigest()


async def file_part(path: Path, start: int, stop: int, *, drop_at: int | None = None) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        source.seek(start)
        at = start
        while at < stop:
            if drop_at is not None and at >= drop_at:
                raise Dropped()
            chunk = source.read(min(READ_BYTES, stop - at))
            at += len(chunk)
            yield chunk


async def send_from(client: httpx.AsyncClient, location: str, path: Path, offset: int,
                    drop_at: int | None = None) -> httpx.Response:
    """PATCHes from `offset` to the end, REQUEST_BYTES a request; the last answer."""
    answer = None
    while offset < SIZE:
        stop = min(SIZE, offset + REQUEST_BYTES)
        answer = await client.patch(location, content=file_part(path, offset, stop, drop_at=drop_at), headers={
            **UPLOAD_CHUNK_HEADERS, "upload-offset": str(offset), "content-length": str(stop - offset)})
        assert answer.status_code in (201, 204), answer.text
        offset = int(answer.headers["upload-offset"])
    assert answer is not None
    return answer


async def test_a_200_mb_video_resumes_after_a_drop_to_the_same_bytes_in_flat_memory(
        client: httpx.AsyncClient, stack: Stack, backend: dict[str, str], large_video: tuple[Path, str]) -> None:
    path, original = large_video
    user = await sign_up(client, stack)
    assert (await sign_in(client, user)).status_code == 200
    # A first upload, so what is made once (the S3 client and its service model) is there before measuring.
    warm = await client.post("/api/v1/media", files={"file": ("warm.jpg", image_bytes(), "image/jpeg")})
    assert warm.status_code == 201, warm.text
    media = stack.system.processes["media"].pid
    before = resident_memory_kib(media)
    highest = before

    async def sample() -> None:
        nonlocal highest
        while True:
            highest = max(highest, resident_memory_kib(media))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        created = await client.post("/api/v1/media/uploads", json={"name": "long.mp4", "type": "video/mp4",
                                                                   "size": SIZE})
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        with pytest.raises(Dropped):
            await send_from(client, location, path, 0, drop_at=SIZE // 2)
        kept = int((await client.head(location)).headers["upload-offset"])
        assert SIZE // 2 - REQUEST_BYTES <= kept <= SIZE // 2
        done = await send_from(client, location, path, kept)
    finally:
        sampler.cancel()

    assert done.status_code == 201, done.text
    item = done.json()
    assert (item["size_bytes"], item["sha256"], item["kind"]) == (SIZE, original, "video")
    assert await stored_sha256(backend, f"users/{user['id']}/{item['id']}") == original
    growth = highest - before
    print(f"media service RSS: {before} KiB before, {highest} KiB at most ({growth / 1024:.1f} MiB more)")
    assert growth < MEMORY_GROWTH_KIB, f"the media service grew from {before} KiB to {highest} KiB"
