"""`make bench` (uploads part): a video of BENCH_UPLOAD_MB (200) uploaded through the gateway in requests of
BENCH_CHUNK_MB (16) of the resumable upload, against copying the same file on disk in the same run, and the media
service's resident memory sampled from /proc all through the upload: it streams, so the peak stays near its rest.
Runs its own copy of the system, its media stored in a temporary folder (the default file backend)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import av
import httpx

from bench.harness import run_and_report
from deploy.system import System, resident_memory_kib

MB = 1024 * 1024
SIZE = int(os.environ.get("BENCH_UPLOAD_MB", "200")) * MB
CHUNK = int(os.environ.get("BENCH_CHUNK_MB", "16")) * MB
READ = MB
PASSWORD = "benchmark passphrase of some length"


def short_mp4(seconds: int = 2, fps: int = 25) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(seconds * fps):
            frame = av.VideoFrame(640, 360, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index % 256]) * plane.buffer_size)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out.getvalue()


def sample_video(path: Path) -> str:
    """A real MP4 grown to SIZE by a `free` box of random bytes (incompressible, all of it on disk); its hash."""
    head = short_mp4()
    digest = hashlib.sha256()
    with path.open("wb") as out:
        box = SIZE - len(head)
        for piece in (head, box.to_bytes(4, "big") + b"free"):
            out.write(piece)
            digest.update(piece)
        left = box - 8
        while left:
            piece = os.urandom(min(READ, left))
            out.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def disk_copy_seconds(source: Path) -> float:
    target = source.with_name("copy.mp4")
    started = time.perf_counter()
    shutil.copyfile(source, target)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


async def file_part(path: Path, start: int, stop: int) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        source.seek(start)
        while start < stop:
            piece = await asyncio.to_thread(source.read, min(READ, stop - start))
            start += len(piece)
            yield piece


async def signed_in(system: System) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=system.url("gateway"), timeout=300)
    email = f"bench-{secrets.token_hex(4)}@example.com"
    answer = await http.post("/api/v1/auth/signup", json={"name": "Bench", "email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    db = await asyncpg.connect(system.env["POSTIFYS_DATABASE_URL"])
    try:
        await db.execute("UPDATE identity.users SET email_verified_at = now() WHERE email = $1", email)
    finally:
        await db.close()
    assert (await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200
    return http


async def upload(http: httpx.AsyncClient, path: Path) -> tuple[dict[str, Any], float, float]:
    """The stored item, the seconds from start to stored, and those of the last request (which hashes and
    probes the whole file before it answers)."""
    started = time.perf_counter()
    created = await http.post("/api/v1/media/uploads", json={"name": "bench.mp4", "type": "video/mp4",
                                                             "size": SIZE})
    assert created.status_code == 201, created.text
    offset, last = 0, 0.0
    while True:
        stop = min(SIZE, offset + CHUNK)
        sent = time.perf_counter()
        answer = await http.patch(created.headers["location"], content=file_part(path, offset, stop), headers={
            "content-type": "application/offset+octet-stream", "upload-offset": str(offset),
            "content-length": str(stop - offset)})
        last = time.perf_counter() - sent
        if answer.status_code == 201:
            return answer.json(), time.perf_counter() - started, last
        assert answer.status_code == 204, answer.text
        offset = int(answer.headers["upload-offset"])


async def measure(system: System, folder: Path) -> dict[str, Any]:
    path = folder / "bench.mp4"
    original = await asyncio.to_thread(sample_video, path)
    copy_seconds = await asyncio.to_thread(disk_copy_seconds, path)
    http = await signed_in(system)
    media = system.processes["media"].pid
    rest = resident_memory_kib(media)
    peak = rest

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, resident_memory_kib(media))
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    try:
        item, seconds, last = await upload(http, path)
    finally:
        sampler.cancel()
        await http.aclose()
    assert item["sha256"] == original, "the stored file is not the one sent"
    upload_rate, copy_rate = SIZE / MB / seconds, SIZE / MB / copy_seconds
    return {
        "file_mb": SIZE // MB, "chunk_mb": CHUNK // MB,
        "upload_mb_per_s": round(upload_rate, 1), "upload_seconds": round(seconds, 2),
        "last_chunk_seconds": round(last, 2),
        "disk_copy_mb_per_s": round(copy_rate, 1), "disk_copy_seconds": round(copy_seconds, 3),
        "upload_share_of_disk_copy": round(upload_rate / copy_rate, 3),
        "media_rss_mib": {"at_rest": round(rest / 1024, 1), "peak": round(peak / 1024, 1),
                          "growth": round((peak - rest) / 1024, 1)},
    }


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="postifys-bench-uploads-"))
    try:
        run_and_report("uploads", lambda system: measure(system, folder),
                       {"POSTIFYS_MEDIA_STORAGE_URL": (folder / "media").as_uri()})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
