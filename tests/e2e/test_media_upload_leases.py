"""Resumable uploads against the real database, the service in this process on a folder: a chunk streams in under
a lease with no transaction open (a second writer is busy, a dead writer's lease is taken over), a body that stops
arriving is cut off with what came kept, an erasure does not wait for a chunk being written (whose writer deletes
what it stored), a finish that failed after the storage completed the object goes on from it (and giving up or
retention deletes it), a declared video that is a picture is held to the image limit, and only a lock held
elsewhere is "busy"."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.media import tables
from services.media.retention import purge_media
from services.media.service import MediaService, UploadStalled
from services.media.settings import MediaSettings
from services.media.storage import FileStorage, Partial, StorageError
from shared.contracts.media import MediaItem
from shared.errors import Conflict, NotFound, TooLarge
from tests.media_samples import mp4, png
from tests.support import runtime_for, wait_for

START = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> float:
        return self.at.timestamp()


class FailingAfterComplete(FileStorage):
    """Completes the object, then fails once, like a crash between the storage's completion and the commit."""

    failures = 1

    async def complete(self, partial: Partial) -> None:
        await super().complete(partial)
        if self.failures:
            self.failures -= 1
            raise StorageError("lost after completing")


async def pieces(*parts: bytes, then: asyncio.Event | None = None, more: bytes = b"") -> AsyncIterator[bytes]:
    """The parts, then (with `then`) waiting for it to be set before `more`: a client sending slowly."""
    for part in parts:
        yield part
    if then is not None:
        await then.wait()
        if more:
            yield more


async def nothing() -> AsyncIterator[bytes]:
    return
    yield b""


async def nothing_in_use(_: list[uuid.UUID]) -> set[uuid.UUID]:
    return set()


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def clip() -> bytes:
    return mp4(320, 240, 1.0)


async def upload_row(service: MediaService, upload_id: uuid.UUID) -> tables.Upload | None:
    async with service.runtime.sessionmaker() as session:
        return await session.get(tables.Upload, upload_id)


def service_on(runtime: Any, settings: MediaSettings, storage: FileStorage, clock: Clock,
               **options: float) -> MediaService:
    return MediaService(runtime, settings, storage, clock=clock, **options)


async def test_a_chunk_streams_in_under_a_lease_with_no_transaction_open(
        scratch_database: str, tmp_path: Path, clip: bytes) -> None:
    settings = MediaSettings(database_url=scratch_database)
    storage, clock, user = FileStorage(tmp_path), Clock(), uuid.uuid4()
    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = service_on(runtime, settings, storage, clock)
        upload = await service.create_upload(user, "clip.mp4", "video/mp4", len(clip))
        partial = tmp_path / f"{upload.storage_key}.partial"
        more = asyncio.Event()
        writing = asyncio.create_task(service.append(user, upload.id, 0, None,
                                                     pieces(clip[:100], then=more, more=clip[100:200])))

        async def leased() -> bool:
            row = await upload_row(service, upload.id)
            return row is not None and row.writer is not None
        await wait_for(leased, message="the chunk to take its lease")

        # No transaction holds the row while the body streams: anyone else may lock it at once.
        async with runtime.transaction() as session:
            await session.execute(sa.select(tables.Upload).where(tables.Upload.id == upload.id)
                                  .with_for_update(nowait=True))
        with pytest.raises(Conflict) as busy:
            await service.append(user, upload.id, 0, None, pieces(b"x"))
        assert busy.value.code == "upload_busy"

        more.set()
        written = await writing
        assert not isinstance(written, MediaItem)
        assert (written.offset, written.writer, written.writing_until) == (200, None, None)
        assert (await service.upload(user, upload.id)).offset == 200

        # A writer that died holding the lease (and left bytes past the offset) is taken over once it expires.
        async with runtime.transaction() as session:
            await session.execute(sa.update(tables.Upload).where(tables.Upload.id == upload.id).values(
                writer=uuid.uuid4(), writing_until=clock.at + timedelta(seconds=service.lease_seconds)))
        with partial.open("ab") as out:
            out.write(b"junk past the offset")
        with pytest.raises(Conflict):
            await service.append(user, upload.id, 200, None, pieces(clip[200:]))
        clock.at += timedelta(seconds=service.lease_seconds + 1)
        item = await service.append(user, upload.id, 200, None, pieces(clip[200:]))
        assert isinstance(item, MediaItem)
        assert item.sha256 == hashlib.sha256(clip).hexdigest()


async def test_a_body_that_stops_arriving_is_cut_off_and_what_came_is_kept(
        scratch_database: str, tmp_path: Path, clip: bytes) -> None:
    settings = MediaSettings(database_url=scratch_database)
    storage, clock, user = FileStorage(tmp_path), Clock(), uuid.uuid4()
    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = service_on(runtime, settings, storage, clock, idle_seconds=0.3)
        upload = await service.create_upload(user, "clip.mp4", "video/mp4", len(clip))
        with pytest.raises(UploadStalled) as stalled:
            await service.append(user, upload.id, 0, None, pieces(clip[:300], then=asyncio.Event()))
        assert stalled.value.status_code == 408
        assert stalled.value.headers == {"Upload-Offset": "300"}
        kept = await service.upload(user, upload.id)
        assert (kept.offset, kept.writer) == (300, None)
        item = await service.append(user, upload.id, 300, None, pieces(clip[300:]))
        assert isinstance(item, MediaItem)
        assert item.sha256 == hashlib.sha256(clip).hexdigest()


async def test_an_erasure_does_not_wait_for_a_chunk_being_written_whose_writer_deletes_what_it_stored(
        scratch_database: str, tmp_path: Path, clip: bytes) -> None:
    settings = MediaSettings(database_url=scratch_database)
    storage, clock, user = FileStorage(tmp_path), Clock(), uuid.uuid4()
    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = service_on(runtime, settings, storage, clock)
        upload = await service.create_upload(user, "clip.mp4", "video/mp4", len(clip))
        more = asyncio.Event()
        writing = asyncio.create_task(service.append(user, upload.id, 0, None,
                                                     pieces(clip[:100], then=more, more=clip[100:])))

        async def leased() -> bool:
            row = await upload_row(service, upload.id)
            return row is not None and row.writer is not None
        await wait_for(leased, message="the chunk to take its lease")

        async with runtime.transaction() as session:
            erased = await asyncio.wait_for(service.erase_user(session, user), timeout=5)
        assert erased["media_uploads"] == 1
        more.set()
        with pytest.raises(NotFound):
            await writing
        assert files_under(tmp_path) == set()
        async with runtime.sessionmaker() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(tables.Item)
                                        .where(tables.Item.user_id == user)) == 0


async def test_a_finish_that_failed_after_the_storage_completed_goes_on_from_the_object(
        scratch_database: str, tmp_path: Path, clip: bytes) -> None:
    settings = MediaSettings(database_url=scratch_database)
    storage, clock, user = FailingAfterComplete(tmp_path), Clock(), uuid.uuid4()
    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = service_on(runtime, settings, storage, clock)
        upload = await service.create_upload(user, "clip.mp4", "video/mp4", len(clip))
        with pytest.raises(StorageError):
            await service.append(user, upload.id, 0, len(clip), pieces(clip))
        assert (await service.upload(user, upload.id)).offset == len(clip)

        item = await service.append(user, upload.id, len(clip), 0, nothing())
        assert isinstance(item, MediaItem)
        assert (item.id, item.kind, item.sha256) == (upload.id, "video", hashlib.sha256(clip).hexdigest())
        assert [i.id for i in await service.library(user, 10, None)] == [upload.id]

        # One given up, and one left for retention, after such a failure: the completed object goes with each.
        for _ in range(2):
            storage.failures = 1
            stuck = await service.create_upload(user, "stuck.mp4", "video/mp4", len(clip))
            with pytest.raises(StorageError):
                await service.append(user, stuck.id, 0, len(clip), pieces(clip))
            assert stuck.storage_key in files_under(tmp_path)
            if _ == 0:
                await service.abort_upload(user, stuck.id)
            else:
                purged = await purge_media(runtime, storage, settings, START + timedelta(days=2), nothing_in_use)
                assert purged["media_uploads"] == 1
            assert not any(name.startswith(stuck.storage_key) for name in files_under(tmp_path))


async def test_a_declared_video_that_is_a_picture_is_held_to_the_image_limit(
        scratch_database: str, tmp_path: Path) -> None:
    picture = png(400, 300, at_least=50_000)
    settings = MediaSettings(database_url=scratch_database, media_image_max_bytes=len(picture) - 1)
    storage, clock, user = FileStorage(tmp_path), Clock(), uuid.uuid4()
    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = service_on(runtime, settings, storage, clock)
        upload = await service.create_upload(user, "not a video.mp4", "video/mp4", len(picture))
        with pytest.raises(TooLarge) as refused:
            await service.append(user, upload.id, 0, len(picture), pieces(picture))
        assert (refused.value.status_code, refused.value.code) == (413, "file_too_large")
        assert refused.value.details == {"max_bytes": len(picture) - 1}
        assert files_under(tmp_path) == set()
        assert await upload_row(service, upload.id) is None
        assert await service.library(user, 10, None) == []


async def test_only_a_lock_held_elsewhere_is_busy_and_a_lost_connection_is_not(
        scratch_database: str, tmp_path: Path) -> None:
    settings = MediaSettings(database_url=scratch_database)
    storage, clock, user = FileStorage(tmp_path), Clock(), uuid.uuid4()
    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = service_on(runtime, settings, storage, clock)
        upload = await service.create_upload(user, "clip.mp4", "video/mp4", 1000)
        async with runtime.transaction() as holder:
            await holder.execute(sa.select(tables.Upload).where(tables.Upload.id == upload.id).with_for_update())
            writing = asyncio.create_task(service.append(user, upload.id, 0, None, pieces(b"x" * 10)))

            async def waiting_backend() -> int | None:
                async with runtime.sessionmaker() as session:
                    return await session.scalar(sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query ILIKE '%FROM media.uploads%FOR UPDATE%'"))
            pid = await wait_for(waiting_backend, message="the chunk to wait for the row lock")
            async with runtime.sessionmaker() as session:
                await session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DBAPIError) as lost:
                await writing
            assert lost.value.connection_invalidated
