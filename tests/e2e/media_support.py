"""What the media tests share: the media service's storage for a round (its folder, or a bucket of its own on a
moto server, the service restarted against it), and what that storage holds, read straight from it."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aioboto3

from tests.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_storage_environment
from tests.support import Stack, restart_with

CHUNK = 256 * 1024
UPLOAD_CHUNK_HEADERS = {"content-type": "application/offset+octet-stream"}


@contextlib.asynccontextmanager
async def storage_backend(stack: Stack, kind: str, s3_endpoint: str | None) -> AsyncIterator[dict[str, str]]:
    """The media service's storage settings for this round: `file` is the stack's own folder; `s3` restarts the
    service against a new bucket, and back afterwards."""
    if kind == "file":
        yield {"POSTIFYS_MEDIA_STORAGE_URL": stack.env["POSTIFYS_MEDIA_STORAGE_URL"]}
        return
    assert s3_endpoint is not None
    env = await s3_storage_environment(s3_endpoint)
    before = {name: stack.env.get(name) for name in env}
    restart_with(stack, "media", dict(env))
    try:
        yield env
    finally:
        restart_with(stack, "media", before)


def _s3(backend: dict[str, str]) -> tuple[aioboto3.Session, str, str]:
    bucket, _, prefix = backend["POSTIFYS_MEDIA_STORAGE_URL"].removeprefix("s3://").partition("/")
    session = aioboto3.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                               region_name=REGION)
    return session, bucket, f"{prefix}/" if prefix else ""


def _folder(backend: dict[str, str]) -> Path | None:
    url = backend["POSTIFYS_MEDIA_STORAGE_URL"]
    return Path(unquote(urlsplit(url).path)) if url.startswith("file://") else None


async def objects_under(backend: dict[str, str], prefix: str) -> list[str]:
    """Every key the storage holds under `prefix`, S3's unfinished multipart uploads included."""
    folder = _folder(backend)
    if folder is not None:
        root = folder / prefix
        return sorted(str(p.relative_to(folder)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    session, bucket, base = _s3(backend)
    async with session.client("s3", endpoint_url=backend["POSTIFYS_MEDIA_S3_ENDPOINT_URL"]) as s3:
        objects = await s3.list_objects_v2(Bucket=bucket, Prefix=base + prefix)
        uploads = await s3.list_multipart_uploads(Bucket=bucket, Prefix=base + prefix)
    return sorted([o["Key"] for o in objects.get("Contents", [])]
                  + [f"{u['Key']} (unfinished multipart upload)" for u in uploads.get("Uploads", [])])


async def stored_sha256(backend: dict[str, str], key: str) -> str | None:
    """The hash of the object as the storage holds it (None when it holds none), read in chunks."""
    digest = hashlib.sha256()
    folder = _folder(backend)
    if folder is not None:
        path = folder / key
        if not path.exists():
            return None
        with path.open("rb") as source:
            while chunk := source.read(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()
    session, bucket, base = _s3(backend)
    async with session.client("s3", endpoint_url=backend["POSTIFYS_MEDIA_S3_ENDPOINT_URL"]) as s3:
        try:
            answer = await s3.get_object(Bucket=bucket, Key=base + key)
        except s3.exceptions.NoSuchKey:
            return None
        async for chunk in answer["Body"].iter_chunks(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
