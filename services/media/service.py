"""A person's media library: storing uploads (whole images, videos in resumable chunks) within their size limits
and quota, probing them, listing and deleting them, and the signed URLs the platforms fetch them from."""

from __future__ import annotations

import asyncio
import hashlib
import math
import tempfile
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.media import fixes, thumbnails, tokens
from services.media.probe import Unreadable, probe
from services.media.settings import MediaSettings
from services.media.storage import Partial, Storage, user_prefix
from services.media.tables import Item, Upload
from shared.contracts.media import MediaItem, MediaKind, MediaProbe
from shared.db import delete_rows
from shared.errors import Conflict, NotFound, PostifysError, TooLarge, Unprocessable
from shared.runtime import ServiceRuntime

log = structlog.get_logger()

COPY_CHUNK = 1024 * 1024
# A writer renews its lease as the body arrives; one that stopped renewing (a crash) is taken over after this.
LEASE_SECONDS = 120
# A body with no byte for this long is cut off, what came kept: a slow client must not hold an upload forever.
IDLE_SECONDS = 30
UPLOAD_WAIT_SECONDS = 10
UPLOAD_POLL_SECONDS = 0.1
LOCK_NOT_AVAILABLE = "55P03"


class UnreadableMedia(PostifysError):
    status_code = 422
    code = "unreadable_media"
    message = "This is not an image or video we can read."


class UrlExpired(PostifysError):
    status_code = 410
    code = "url_expired"
    message = "This media link has expired."


class UploadStalled(PostifysError):
    status_code = 408
    code = "upload_stalled"
    message = "The chunk stopped arriving; what came is kept. Resume from Upload-Offset."


class LeaseLost(Exception):
    """The upload being written is gone (erased, purged, given up) or another writer took it over."""


@dataclass(frozen=True)
class _Lease:
    writer: uuid.UUID
    row: Upload


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


def kind_of(content_type: str) -> MediaKind | None:
    family = content_type.split("/", 1)[0].strip().lower()
    return "image" if family == "image" else "video" if family == "video" else None


def as_item(row: Item) -> MediaItem:
    return MediaItem(id=row.id, name=row.name, kind=row.kind, size_bytes=row.size_bytes,
                     sha256=row.sha256, probe=MediaProbe.model_validate(row.probe), created_at=row.created_at)


async def _lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """One quota decision at a time per person, across every process."""
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(CAST(:user AS text), 6))"),
                          {"user": str(user_id)})


async def _used_bytes(session: AsyncSession, user_id: uuid.UUID) -> int:
    stored = await session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Item.size_bytes), 0))
                                  .where(Item.user_id == user_id))
    pending = await session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Upload.size_bytes), 0))
                                   .where(Upload.user_id == user_id))
    return int(stored or 0) + int(pending or 0)


class MediaService:
    def __init__(self, runtime: ServiceRuntime, settings: MediaSettings, storage: Storage,
                 clock: Callable[[], float] = time.time, *, lease_seconds: float = LEASE_SECONDS,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        self.runtime = runtime
        self.settings = settings
        self.storage = storage
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.idle_seconds = idle_seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def limit_for(self, kind: MediaKind) -> int:
        return self.settings.media_image_max_bytes if kind == "image" else self.settings.media_video_max_bytes

    async def _within_quota(self, session: AsyncSession, user_id: uuid.UUID, size: int) -> None:
        await _lock_user(session, user_id)
        used = await _used_bytes(session, user_id)
        quota = self.settings.media_quota_bytes
        if used + size > quota:
            raise Conflict("This file does not fit in your media storage. Delete some media first.",
                           code="quota_exceeded", details={"quota_bytes": quota, "used_bytes": used,
                                                           "needed_bytes": size})

    # Whole images

    async def store_image(self, user_id: uuid.UUID, name: str, chunks: AsyncIterable[bytes]) -> MediaItem:
        """Kept on local disk while it is hashed and probed, so nothing unreadable is ever stored."""
        limit = self.settings.media_image_max_bytes
        with tempfile.TemporaryDirectory(prefix="postifys-media-") as folder:
            path = Path(folder) / "upload"
            size, digest = await _spool(chunks, path, limit)
            found = await _probe(path)
            if found.kind != "image":
                raise Unprocessable("Upload videos with the resumable upload (POST /api/v1/media/uploads).",
                                    code="video_needs_resumable_upload")
            media_id = uuid.uuid4()
            key = f"{user_prefix(user_id)}{media_id}"
            async with self.runtime.transaction() as session:
                await self._within_quota(session, user_id, size)
                await self.storage.write(key, _file_chunks(path))
                await thumbnails.store(self.storage, key, path, "image")
                row = Item(id=media_id, user_id=user_id, name=name, kind="image", size_bytes=size, sha256=digest,
                           storage_key=key, probe=found.model_dump(mode="json"), created_at=self.now())
                session.add(row)
        log.info("Media stored", media_id=str(media_id), kind="image", size_bytes=size)
        return as_item(row)

    # Resumable uploads

    async def create_upload(self, user_id: uuid.UUID, name: str, content_type: str, size: int) -> Upload:
        kind = kind_of(content_type)
        if kind is None:
            raise Unprocessable("Only images and videos can be uploaded.", code="unsupported_media_type")
        limit = self.limit_for(kind)
        if size > limit:
            raise TooLarge(f"A {kind} may be {limit // (1024 * 1024)} MB at most.", code="file_too_large",
                           details={"max_bytes": limit})
        upload_id = uuid.uuid4()
        key = f"{user_prefix(user_id)}{upload_id}"
        async with self.runtime.transaction() as session:
            await self._within_quota(session, user_id, size)
            partial = await self.storage.start_upload(key)
            now = self.now()
            row = Upload(id=upload_id, user_id=user_id, name=name, kind=kind, declared_type=content_type,
                         size_bytes=size, offset=0, storage_key=key, storage_state=partial.state, created_at=now,
                         updated_at=now)
            session.add(row)
        return row

    async def upload(self, user_id: uuid.UUID, upload_id: uuid.UUID) -> Upload:
        """Waits for a chunk still being written to be recorded, so the offset it answers is the one to resume
        from; one write at a time, with no connection held while it waits."""
        waited_until = time.monotonic() + UPLOAD_WAIT_SECONDS
        while True:
            async with self.runtime.sessionmaker() as session:
                row = await session.scalar(sa.select(Upload).where(Upload.id == upload_id,
                                                                   Upload.user_id == user_id))
            if row is None:
                raise NotFound("No upload in progress with this id.", code="upload_not_found")
            if not self._leased(row):
                return row
            if time.monotonic() > waited_until:
                raise _busy("A chunk of this upload is still being written. Ask again shortly.")
            await asyncio.sleep(UPLOAD_POLL_SECONDS)

    def _leased(self, row: Upload) -> bool:
        return row.writer is not None and row.writing_until is not None and row.writing_until > self.now()

    async def append(self, user_id: uuid.UUID, upload_id: uuid.UUID, offset: int, length: int | None,
                     chunks: AsyncIterable[bytes]) -> Upload | MediaItem:
        """Adds one chunk at `offset`; the upload that reaches its size becomes a media item. One writer per
        upload, whichever process takes it: it holds the row's lease, not a transaction, while the body streams
        in, and a body that stops arriving is cut off (what came is kept)."""
        lease = await self._take_lease(user_id, upload_id, offset, length)
        row = lease.row
        stalled = False
        if row.offset < row.size_bytes:
            pieces = _Pieces(self, lease, _at_most(chunks, row.size_bytes - row.offset))
            try:
                partial = await self.storage.append(Partial(row.storage_key, row.offset, row.storage_state),
                                                    pieces)
            except BaseException:
                await self._after_failed_write(lease)
                raise
            stalled = pieces.stalled
            row = await self._record(lease, partial)
        if row.offset < row.size_bytes:
            if stalled:
                raise UploadStalled(headers={"Upload-Offset": str(row.offset)})
            return row
        return await self._complete(_Lease(lease.writer, row))

    async def _take_lease(self, user_id: uuid.UUID, upload_id: uuid.UUID, offset: int,
                          length: int | None) -> _Lease:
        async with self.runtime.transaction() as session:
            await session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            try:
                row = await session.scalar(sa.select(Upload).where(Upload.id == upload_id, Upload.user_id == user_id)
                                           .with_for_update())
            except DBAPIError as exc:
                if _lock_not_available(exc):
                    raise _busy("Another chunk of this upload is being written. Ask for its offset again "
                                "shortly.") from None
                raise
            if row is None:
                raise NotFound("No upload in progress with this id.", code="upload_not_found")
            if self._leased(row):
                raise _busy("Another chunk of this upload is being written. Ask for its offset again shortly.")
            if offset != row.offset:
                raise Conflict("The chunk does not start where the upload stands.", code="offset_mismatch",
                               details={"offset": row.offset}, headers={"Upload-Offset": str(row.offset)})
            if length is not None and length > row.size_bytes - row.offset:
                raise TooLarge("The chunk goes past the upload's announced size.", code="upload_too_long",
                               details={"offset": row.offset, "size": row.size_bytes})
            row.writer, row.writing_until = uuid.uuid4(), self._lease_end()
        return _Lease(row.writer, row)

    def _lease_end(self) -> datetime:
        return datetime.fromtimestamp(self.clock() + self.lease_seconds, UTC)

    async def _renew(self, lease: _Lease) -> None:
        async with self.runtime.transaction() as session:
            renewed = await session.execute(sa.update(Upload).where(Upload.id == lease.row.id,
                                                                    Upload.writer == lease.writer)
                                            .values(writing_until=self._lease_end()))
        if not renewed.rowcount:  # type: ignore[attr-defined]
            raise LeaseLost()

    async def _after_failed_write(self, lease: _Lease) -> None:
        """Releases the lease; an upload erased or given up meanwhile loses what the write stored (S3 tails the
        erasure's sweep may have missed), and the writer hears it is gone rather than why the write failed."""
        async with self.runtime.transaction() as session:
            row = await session.scalar(sa.select(Upload).where(Upload.id == lease.row.id).with_for_update())
            if row is not None:
                if row.writer == lease.writer:
                    row.writer, row.writing_until = None, None
                return
        await abort_stored(self.storage, lease.row)
        raise NotFound("No upload in progress with this id.", code="upload_not_found")

    async def _release(self, lease: _Lease) -> None:
        async with self.runtime.transaction() as session:
            await session.execute(sa.update(Upload).where(Upload.id == lease.row.id, Upload.writer == lease.writer)
                                  .values(writer=None, writing_until=None))

    async def _record(self, lease: _Lease, partial: Partial) -> Upload:
        """The new offset, if the upload is still this writer's. One erased, purged or given up meanwhile loses
        what this chunk stored; one another writer took over keeps the partial, now the other's."""
        async with self.runtime.transaction() as session:
            row = await session.scalar(sa.select(Upload).where(Upload.id == lease.row.id).with_for_update())
            if row is not None and row.writer == lease.writer:
                row.offset, row.storage_state, row.updated_at = partial.offset, partial.state, self.now()
                if row.offset < row.size_bytes:
                    row.writer, row.writing_until = None, None
                return row
        if row is None:
            await abort_stored(self.storage, lease.row)
            raise NotFound("No upload in progress with this id.", code="upload_not_found")
        raise _busy("Another request took this upload over. Ask for its offset again.")

    async def _complete(self, lease: _Lease) -> MediaItem:
        """Idempotent: a finish that failed after the storage completed the object (the partial is gone) goes on
        from the object, when the next chunk request (an empty one at the full size) comes."""
        upload = lease.row
        try:
            if await self.storage.size(upload.storage_key) != upload.size_bytes:
                await self.storage.complete(Partial(upload.storage_key, upload.offset, upload.storage_state))
            return await self._finish(lease)
        except (UnreadableMedia, TooLarge) as exc:
            await self._discard(upload)
            log.info("Upload refused", upload_id=str(upload.id), code=exc.code, reason=exc.details)
            raise
        except BaseException:
            await self._release(lease)
            raise

    async def _discard(self, upload: Upload) -> None:
        await self._delete_objects(upload.storage_key)
        async with self.runtime.transaction() as session:
            await session.execute(sa.delete(Upload).where(Upload.id == upload.id))

    async def _delete_objects(self, key: str) -> None:
        await self.storage.delete(key)
        await self.storage.delete(thumbnails.key_of(key))

    async def _finish(self, lease: _Lease) -> MediaItem:
        upload = lease.row
        local = self.storage.local_path(upload.storage_key)
        with tempfile.TemporaryDirectory(prefix="postifys-media-") as folder:
            if local is not None:
                digest = await asyncio.to_thread(_sha256_of, local)
            else:
                local = Path(folder) / "upload"
                _, digest = await _spool(self.storage.read(upload.storage_key), local, upload.size_bytes)
            found = await _probe(local)
            limit = self.limit_for(found.kind)
            if upload.size_bytes > limit:
                raise TooLarge(f"This file is a {found.kind}, and a {found.kind} may be {limit // (1024 * 1024)} "
                               "MB at most.", code="file_too_large", details={"max_bytes": limit})
            await thumbnails.store(self.storage, upload.storage_key, local, found.kind)
        async with self.runtime.transaction() as session:
            row = await session.scalar(sa.select(Upload).where(Upload.id == upload.id).with_for_update())
            if row is None:
                done = await session.get(Item, upload.id)
                if done is not None:  # another request finished it meanwhile
                    return as_item(done)
                await self._delete_objects(upload.storage_key)
                raise NotFound("No upload in progress with this id.", code="upload_not_found")
            item = Item(id=upload.id, user_id=upload.user_id, name=upload.name, kind=found.kind,
                        size_bytes=upload.size_bytes, sha256=digest, storage_key=upload.storage_key,
                        probe=found.model_dump(mode="json"), created_at=self.now())
            session.add(item)
            await session.delete(row)
        log.info("Media stored", media_id=str(item.id), kind=found.kind, size_bytes=item.size_bytes)
        return as_item(item)

    async def abort_upload(self, user_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """A chunk still being written notices its upload is gone when it ends, and deletes what it stored."""
        async with self.runtime.transaction() as session:
            row = await session.scalar(sa.select(Upload).where(Upload.id == upload_id, Upload.user_id == user_id)
                                       .with_for_update())
            if row is None:
                raise NotFound("No upload in progress with this id.", code="upload_not_found")
            await abort_stored(self.storage, row)
            await session.delete(row)

    # The library

    async def library(self, user_id: uuid.UUID, limit: int,
                      before: tuple[datetime, uuid.UUID] | None) -> list[MediaItem]:
        query = (sa.select(Item).where(Item.user_id == user_id)
                 .order_by(Item.created_at.desc(), Item.id.desc()).limit(limit))
        if before is not None:
            created_at, media_id = before
            query = query.where(sa.tuple_(Item.created_at, Item.id) < sa.tuple_(sa.literal(created_at),
                                                                                 sa.literal(media_id)))
        async with self.runtime.sessionmaker() as session:
            return [as_item(row) for row in (await session.scalars(query)).all()]

    async def item(self, user_id: uuid.UUID, media_id: uuid.UUID) -> MediaItem:
        async with self.runtime.sessionmaker() as session:
            row = await session.scalar(sa.select(Item).where(Item.id == media_id, Item.user_id == user_id))
        if row is None:
            raise NotFound("No media with this id.", code="media_not_found")
        return as_item(row)

    async def delete(self, user_id: uuid.UUID, media_id: uuid.UUID) -> None:
        async with self.runtime.transaction() as session:
            row = await session.scalar(sa.select(Item).where(Item.id == media_id, Item.user_id == user_id)
                                       .with_for_update())
            if row is None:
                raise NotFound("No media with this id.", code="media_not_found")
            await session.delete(row)
            await self.storage.delete(row.storage_key)
            await self.storage.delete(thumbnails.key_of(row.storage_key))

    # Fixes on request

    async def fix(self, user_id: uuid.UUID, media_id: uuid.UUID, fix: fixes.Fix, max_side: int,
                  max_short_side: int | None = None) -> MediaItem:
        """A fixed copy of an item, stored as a new image of the library (the original stays as it was)."""
        async with self.runtime.sessionmaker() as session:
            row = await session.scalar(sa.select(Item).where(Item.id == media_id, Item.user_id == user_id))
        if row is None:
            raise NotFound("No media with this id.", code="media_not_found")
        found = MediaProbe.model_validate(row.probe)
        _check_fixable(fix, found, max_side, max_short_side)
        with tempfile.TemporaryDirectory(prefix="postifys-media-") as folder:
            source = self.storage.local_path(row.storage_key)
            if source is None:
                source = Path(folder) / "source"
                await _spool(self.storage.read(row.storage_key), source, row.size_bytes)
            target = Path(folder) / "fixed"
            try:
                made = await asyncio.to_thread(_apply_fix, fix, source, target, max_side, max_short_side)
            except fixes.Unfixable as exc:
                raise Unprocessable("Postifys could not make this fix of the file.", code="unfixable_media",
                                    details={"reason": str(exc)}) from None
            fixed = await self.store_image(user_id, _fixed_name(row.name, fix, made), _file_chunks(target))
        log.info("Media fixed", media_id=str(media_id), fix=fix, fixed_id=str(fixed.id))
        return fixed

    async def erase_user(self, session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
        """Every row and stored object of a person, unfinished uploads included (the deletion saga's step), in the
        caller's transaction. A chunk still being written is not waited for: it finds its upload gone when it ends
        and deletes what it stored (a last chunk adds no item then); the quota lock waits out an image or an upload
        being started."""
        await _lock_user(session, user_id)
        uploads = await delete_rows(session, sa.delete(Upload).where(Upload.user_id == user_id))
        items = await delete_rows(session, sa.delete(Item).where(Item.user_id == user_id))
        files = await self.storage.delete_prefix(user_prefix(user_id))
        return {"media_items": items, "media_uploads": uploads, "media_files": files}

    async def touch(self, media_ids: Collection[uuid.UUID]) -> int:
        """A post uses these items now: retention keeps them for another `media_unused_days`. How many were still
        there: one retention deleted meanwhile (it waits on retention's lock) is gone, and the post must hear so."""
        if not media_ids:
            return 0
        async with self.runtime.transaction() as session:
            touched = await session.execute(sa.update(Item).where(Item.id.in_(media_ids))
                                            .values(last_used_at=self.now()))
            return int(touched.rowcount or 0)  # type: ignore[attr-defined]

    async def revoke_urls(self, media_id: uuid.UUID, session: AsyncSession | None = None) -> None:
        """Every URL of the item signed until now stops working (a post using it is final); one signed later, for
        the next post, works. In `session` when given (an event's inbox transaction)."""
        revoke = sa.update(Item).where(Item.id == media_id).values(urls_revoked_at=self.now())
        if session is not None:
            await session.execute(revoke)
            return
        async with self.runtime.transaction() as own:
            await own.execute(revoke)

    async def stored(self, user_id: uuid.UUID, media_id: uuid.UUID) -> Item:
        async with self.runtime.sessionmaker() as session:
            row = await session.scalar(sa.select(Item).where(Item.id == media_id, Item.user_id == user_id))
        if row is None:
            raise NotFound("No media with this id.", code="media_not_found")
        return row

    # Signed URLs

    def signed_url(self, media_id: uuid.UUID, lifetime: int | None = None,
                   revoked_at: datetime | None = None) -> SignedUrl:
        """A token knows its expiry to the second, and so the second it was signed in: one signed in the second of
        a revocation (`revoked_at`) counts as signed in the next, so it is not taken for a revoked one."""
        signed_at = int(self.clock())
        if revoked_at is not None:
            signed_at = max(signed_at, math.floor(revoked_at.timestamp()) + 1)
        expires_at = signed_at + (lifetime or self.settings.media_url_lifetime_seconds)
        token = tokens.sign(self.settings.signing_key(), media_id, expires_at)
        return SignedUrl(url=f"{self.settings.public_url.rstrip('/')}/media/files/{token}",
                         expires_at=datetime.fromtimestamp(expires_at, UTC))

    async def granted(self, token: str) -> Item:
        """The item a signed URL serves: refused once it expired, was revoked or deleted, or was changed."""
        try:
            grant = tokens.verify(self.settings.signing_key(), token, self.clock())
        except tokens.Expired:
            raise UrlExpired() from None
        if grant is None:
            raise NotFound("No media at this address.", code="not_found")
        async with self.runtime.sessionmaker() as session:
            row = await session.get(Item, grant.media_id)
        if row is None:
            raise NotFound("No media at this address.", code="not_found")
        signed_at = grant.expires_at - self.settings.media_url_lifetime_seconds
        if row.urls_revoked_at is not None and signed_at <= row.urls_revoked_at.timestamp():
            raise UrlExpired("This media link no longer works.")
        return row


def _busy(message: str) -> Conflict:
    return Conflict(message, code="upload_busy", headers={"Retry-After": "1"})


def _lock_not_available(exc: DBAPIError) -> bool:
    """Only a lock another holds is "busy"; a lost connection or any other failure is not."""
    return getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


async def abort_stored(storage: Storage, upload: Upload) -> None:
    """What an unfinished upload stored: its partial, and the object (and thumbnail) of a finish that failed
    after the storage completed it."""
    await storage.abort(Partial(upload.storage_key, upload.offset, upload.storage_state))
    await storage.delete(upload.storage_key)
    await storage.delete(thumbnails.key_of(upload.storage_key))


class _Pieces:
    """A chunk's body as the storage takes it: cut off after `idle_seconds` without a byte (`stalled` then), and
    renewing the writer's lease as it goes, so a writer whose upload was erased or taken over stops writing."""

    def __init__(self, service: MediaService, lease: _Lease, chunks: AsyncIterable[bytes]) -> None:
        self.service = service
        self.lease = lease
        self.chunks = aiter(chunks)
        self.stalled = False
        self.renewed_at = service.clock()

    def __aiter__(self) -> _Pieces:
        return self

    async def __anext__(self) -> bytes:
        if self.stalled:
            raise StopAsyncIteration
        try:
            async with asyncio.timeout(self.service.idle_seconds):
                piece = await anext(self.chunks)
        except TimeoutError:
            self.stalled = True
            log.info("Upload chunk stalled", upload_id=str(self.lease.row.id))
            raise StopAsyncIteration from None
        if self.service.clock() - self.renewed_at > self.service.lease_seconds / 4:
            await self.service._renew(self.lease)
            self.renewed_at = self.service.clock()
        return piece


def _check_fixable(fix: fixes.Fix, found: MediaProbe, max_side: int, max_short_side: int | None) -> None:
    if fix == "poster":
        if found.kind != "video":
            raise Unprocessable("Only a video has a poster frame.", code="fix_not_applicable")
        return
    if found.kind != "image":
        raise Unprocessable("A video is never re-encoded; ask for its poster frame instead.",
                            code="fix_not_applicable")
    if fix == "jpeg" and found.format == "jpeg" and not found.rotation and found.colour_space in (None, "srgb"):
        raise Unprocessable("This image is already an upright sRGB JPEG.", code="nothing_to_fix")
    if fix == "downscale" and fixes.fitting_scale((found.width, found.height), max_side, max_short_side) >= 1:
        raise Unprocessable("This image already fits within that size.", code="nothing_to_fix",
                            details={"width": found.width, "height": found.height})


def _apply_fix(fix: fixes.Fix, source: Path, target: Path, max_side: int, max_short_side: int | None) -> fixes.Fixed:
    if fix == "jpeg":
        return fixes.to_jpeg(source, target)
    if fix == "downscale":
        return fixes.downscale(source, target, max_side, max_short_side)
    return fixes.poster(source, target)


def _fixed_name(name: str, fix: fixes.Fix, made: fixes.Fixed) -> str:
    stem = PurePath(name).stem or "media"
    label = {"jpeg": "", "downscale": f" {made.width}x{made.height}", "poster": " poster"}[fix]
    suffix = made.suffix
    return f"{stem[:255 - len(label) - len(suffix)]}{label}{suffix}"


async def _spool(chunks: AsyncIterable[bytes], path: Path, limit: int) -> tuple[int, str]:
    """Writes the chunks to a local file, hashing them, and refuses past `limit` bytes."""
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"The file may be {limit // (1024 * 1024)} MB at most.", code="file_too_large",
                               details={"max_bytes": limit})
            digest.update(chunk)
            await asyncio.to_thread(out.write, chunk)
    if size == 0:
        raise UnreadableMedia(details={"reason": "the file is empty"})
    return size, digest.hexdigest()


async def _probe(path: Path) -> MediaProbe:
    try:
        return await asyncio.to_thread(probe, path)
    except Unreadable as exc:
        raise UnreadableMedia(details={"reason": str(exc)}) from None


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := await asyncio.to_thread(source.read, COPY_CHUNK):
            yield chunk


async def _at_most(chunks: AsyncIterable[bytes], room: int) -> AsyncIterator[bytes]:
    taken = 0
    async for chunk in chunks:
        taken += len(chunk)
        if taken > room:
            raise TooLarge("The chunk goes past the upload's announced size.", code="upload_too_long")
        yield chunk


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

