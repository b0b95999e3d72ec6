"""Where uploaded files' bytes live, behind one small interface: the local filesystem (the default) or any
S3-compatible store. Everything streams: writes take an async iterator of chunks, reads give one back, so no file
is ever whole in memory (S3 buffers at most one multipart part).

A resumable upload is a `Partial`: what has been written so far and the backend's own bookkeeping, which the
service keeps in the upload's row, so any process can take the next chunk. The file backend appends to a partial
file; the S3 backend keeps completed multipart parts plus a small tail object for bytes short of a part."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import structlog

log = structlog.get_logger()

READ_CHUNK = 256 * 1024
# S3 refuses parts under 5 MiB (all but the last); one part is the most a write holds in memory.
S3_PART_SIZE = 8 * 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
PARTIAL_SUFFIX = ".partial"


class StorageError(Exception):
    pass


class ObjectMissing(StorageError):
    pass


@dataclass(frozen=True)
class Partial:
    """A resumable upload's state: `offset` bytes are kept; `state` is the backend's, JSON for the upload's row."""

    key: str
    offset: int = 0
    state: dict[str, Any] = field(default_factory=dict)


class Storage(Protocol):
    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Stores a whole object (replacing one of that key) and answers its size."""

    def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes from `start` up to `stop` (exclusive; None: the end)."""

    async def size(self, key: str) -> int | None:
        """None when there is no such object."""

    async def delete(self, key: str) -> None:
        """Deleting what is not there is no error."""

    async def delete_prefix(self, prefix: str) -> int:
        """Every object under `prefix` (a user's `users/<id>/`), unfinished uploads included; answers how many."""

    def local_path(self, key: str) -> Path | None:
        """Where the object is on this machine's disk, if it is (the file backend), so it can be probed in place."""

    async def start_upload(self, key: str) -> Partial: ...

    async def append(self, partial: Partial, chunks: AsyncIterable[bytes]) -> Partial:
        """Adds the chunks after what `partial` kept; answers the new state once they are stored."""

    async def complete(self, partial: Partial) -> None:
        """Makes the upload the object at its key."""

    async def abort(self, partial: Partial) -> None: ...

    async def close(self) -> None: ...


def check_key(key: str) -> str:
    if len(key) > 512 or not _KEY.match(key):
        raise StorageError("not a storage key")
    return key


def user_prefix(user_id: uuid.UUID) -> str:
    return f"users/{user_id}/"


class FileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        target = self._path(key)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half an object, a failed write leaves none.
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        size = 0
        try:
            with temporary.open("wb") as out:
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
                    size += len(chunk)
            await asyncio.to_thread(os.replace, temporary, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        return size

    async def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        try:
            source = self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        with source:
            source.seek(start)
            left = None if stop is None else stop - start
            while left is None or left > 0:
                chunk = await asyncio.to_thread(source.read, READ_CHUNK if left is None else min(READ_CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    async def delete_prefix(self, prefix: str) -> int:
        folder = self._path(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        files = [p for p in folder.rglob("*") if p.is_file()]
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for directory in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            folder.rmdir()
        return len(files)

    async def start_upload(self, key: str) -> Partial:
        partial = self._path(key + PARTIAL_SUFFIX)
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(b"")
        return Partial(key=key)

    async def append(self, partial: Partial, chunks: AsyncIterable[bytes]) -> Partial:
        path = self._path(partial.key + PARTIAL_SUFFIX)
        offset = partial.offset
        try:
            out = path.open("r+b")
        except FileNotFoundError:
            raise ObjectMissing(partial.key) from None
        with out:
            # The row's offset is the truth: bytes past it (a write whose row was never updated) are dropped.
            out.truncate(offset)
            out.seek(offset)
            async for chunk in chunks:
                await asyncio.to_thread(out.write, chunk)
                offset += len(chunk)
        return replace(partial, offset=offset)

    async def complete(self, partial: Partial) -> None:
        await asyncio.to_thread(os.replace, self._path(partial.key + PARTIAL_SUFFIX), self._path(partial.key))

    async def abort(self, partial: Partial) -> None:
        await self.delete(partial.key + PARTIAL_SUFFIX)

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None


class S3Storage:
    """Any S3-compatible store through one kept aioboto3 client (opened on first use, closed at shutdown)."""

    def __init__(self, config: S3Config, part_size: int = S3_PART_SIZE) -> None:
        self.config = config
        self.part_size = part_size
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def client(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    import aioboto3
                    from botocore.config import Config

                    session = aioboto3.Session(aws_access_key_id=self.config.access_key_id,
                                               aws_secret_access_key=self.config.secret_access_key,
                                               region_name=self.config.region)
                    self._client = await self._stack.enter_async_context(session.client(
                        "s3", endpoint_url=self.config.endpoint_url,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3},
                                      connect_timeout=5, read_timeout=60)))
        return self._client

    def _name(self, key: str) -> str:
        return self.config.prefix + check_key(key)

    def local_path(self, key: str) -> Path | None:
        return None

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        s3 = await self.client()
        name = self._name(key)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = (await s3.create_multipart_upload(Bucket=self.config.bucket, Key=name))["UploadId"]
                    parts.append(await self._upload_part(name, upload_id, len(parts) + 1,
                                                         bytes(buffer[:self.part_size])))
                    del buffer[:self.part_size]
            if upload_id is None:
                await s3.put_object(Bucket=self.config.bucket, Key=name, Body=bytes(buffer))
                return size
            if buffer:
                parts.append(await self._upload_part(name, upload_id, len(parts) + 1, bytes(buffer)))
            await s3.complete_multipart_upload(Bucket=self.config.bucket, Key=name, UploadId=upload_id,
                                               MultipartUpload={"Parts": parts})
            upload_id = None
            return size
        finally:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await s3.abort_multipart_upload(Bucket=self.config.bucket, Key=name, UploadId=upload_id)

    async def _upload_part(self, name: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        s3 = await self.client()
        answer = await s3.upload_part(Bucket=self.config.bucket, Key=name, UploadId=upload_id, PartNumber=number,
                                      Body=body)
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        s3 = await self.client()
        if stop is not None and stop <= start:
            return
        extra = {} if start == 0 and stop is None else {
            "Range": f"bytes={start}-{'' if stop is None else stop - 1}"}
        try:
            answer = await s3.get_object(Bucket=self.config.bucket, Key=self._name(key), **extra)
        except s3.exceptions.NoSuchKey:
            raise ObjectMissing(key) from None
        body = answer["Body"]
        try:
            async for chunk in body.iter_chunks(READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        s3 = await self.client()
        try:
            answer = await s3.head_object(Bucket=self.config.bucket, Key=self._name(key))
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise
        return int(answer["ContentLength"])

    async def delete(self, key: str) -> None:
        s3 = await self.client()
        await s3.delete_object(Bucket=self.config.bucket, Key=self._name(key))

    async def delete_prefix(self, prefix: str) -> int:
        s3 = await self.client()
        name = self.config.prefix + prefix
        deleted = 0
        paginator = s3.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.config.bucket, Prefix=name):
            for upload in page.get("Uploads", []):
                await s3.abort_multipart_upload(Bucket=self.config.bucket, Key=upload["Key"],
                                                UploadId=upload["UploadId"])
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.config.bucket, Prefix=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                await s3.delete_objects(Bucket=self.config.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted

    async def start_upload(self, key: str) -> Partial:
        s3 = await self.client()
        answer = await s3.create_multipart_upload(Bucket=self.config.bucket, Key=self._name(key))
        return Partial(key=key, state={"upload_id": answer["UploadId"], "parts": [], "tail": None})

    async def append(self, partial: Partial, chunks: AsyncIterable[bytes]) -> Partial:
        """Whole parts go to the multipart upload as they fill; what is left short of a part (at the end of a
        chunk, or where a dropped connection cut it) is kept as a tail object and leads the next part."""
        s3 = await self.client()
        name = self._name(partial.key)
        upload_id = partial.state["upload_id"]
        parts: list[dict[str, Any]] = list(partial.state["parts"])
        old_tail: str | None = partial.state.get("tail")
        kept = sum(p["Size"] for p in parts)
        buffer = bytearray()
        if old_tail:
            async for piece in self.read(old_tail):
                buffer += piece
        async for chunk in chunks:
            buffer += chunk
            while len(buffer) >= self.part_size:
                part = await self._upload_part(name, upload_id, len(parts) + 1, bytes(buffer[:self.part_size]))
                parts.append({**part, "Size": self.part_size})
                kept += self.part_size
                del buffer[:self.part_size]
        tail = None
        if buffer:
            # A fresh name each time, so the tail the row names is never overwritten.
            tail = f"{partial.key}.tail-{uuid.uuid4().hex}"
            await s3.put_object(Bucket=self.config.bucket, Key=self._name(tail), Body=bytes(buffer))
        # The previous tail stays until the upload ends: the row may never learn of this append (a crash before
        # its commit), and then the next append starts from that tail again.
        return Partial(key=partial.key, offset=kept + len(buffer),
                       state={"upload_id": upload_id, "parts": parts, "tail": tail})

    async def complete(self, partial: Partial) -> None:
        s3 = await self.client()
        name = self._name(partial.key)
        upload_id = partial.state["upload_id"]
        parts = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in partial.state["parts"]]
        tail = partial.state.get("tail")
        if tail:
            body = bytearray()
            async for piece in self.read(tail):
                body += piece
            parts.append(await self._upload_part(name, upload_id, len(parts) + 1, bytes(body)))
        if not parts:
            await s3.abort_multipart_upload(Bucket=self.config.bucket, Key=name, UploadId=upload_id)
            await s3.put_object(Bucket=self.config.bucket, Key=name, Body=b"")
        else:
            await s3.complete_multipart_upload(Bucket=self.config.bucket, Key=name, UploadId=upload_id,
                                               MultipartUpload={"Parts": parts})
        await self._delete_tails(partial.key)

    async def _delete_tails(self, key: str) -> None:
        s3 = await self.client()
        answer = await s3.list_objects_v2(Bucket=self.config.bucket, Prefix=f"{self._name(key)}.tail-")
        keys = [{"Key": o["Key"]} for o in answer.get("Contents", [])]
        if keys:
            await s3.delete_objects(Bucket=self.config.bucket, Delete={"Objects": keys, "Quiet": True})

    async def abort(self, partial: Partial) -> None:
        s3 = await self.client()
        with contextlib.suppress(Exception):
            await s3.abort_multipart_upload(Bucket=self.config.bucket, Key=self._name(partial.key),
                                            UploadId=partial.state["upload_id"])
        await self._delete_tails(partial.key)

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) or None
    return None


def storage_from_url(url: str, *, endpoint_url: str | None = None, region: str = "us-east-1",
                     access_key_id: str | None = None, secret_access_key: str | None = None) -> Storage:
    """`file:///path` or `s3://bucket/prefix`."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        prefix = parts.path.strip("/")
        return S3Storage(S3Config(bucket=parts.netloc, prefix=f"{prefix}/" if prefix else "",
                                  endpoint_url=endpoint_url, region=region, access_key_id=access_key_id,
                                  secret_access_key=secret_access_key))
    raise ValueError("POSTIFYS_MEDIA_STORAGE_URL must be file:///path or s3://bucket/prefix")
