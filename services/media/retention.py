"""What the media service keeps, and for how long: a file no post has used for `media_unused_days` (30; a file
never used counts from its upload) unless a post not yet final names it (the publisher says which: a draft or a
post scheduled months ahead keeps its files), and an upload that made no progress for a day. Each goes with its stored
objects, so the purge is the service's own rather than shared.retention's (which deletes rows only)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from services.media import thumbnails
from services.media.publisher_client import InUse
from services.media.service import abort_stored
from services.media.settings import MediaSettings
from services.media.storage import Storage
from services.media.tables import Item, Upload
from shared.retention import BATCH_SIZE, PURGED
from shared.runtime import ServiceRuntime, repeat

log = structlog.get_logger()

ABANDONED_UPLOAD_AGE = timedelta(days=1)


def unused_since(settings: MediaSettings, now: datetime) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(Item.last_used_at, Item.created_at) < now - timedelta(days=settings.media_unused_days)


def abandoned_since(now: datetime) -> sa.ColumnElement[bool]:
    """No progress for a day, and no chunk being written (a lease still live)."""
    return sa.and_(Upload.updated_at < now - ABANDONED_UPLOAD_AGE,
                   sa.or_(Upload.writing_until.is_(None), Upload.writing_until <= now))


async def purge_media(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings, now: datetime,
                      in_use: InUse, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Every unused item and abandoned upload at `now`, a batch per transaction: the rows are locked (one being
    resolved for a post or taking a chunk is left for the next round), the publisher asked which a post still
    needs (those count as used now), the others' objects deleted, then the rows. A failed deletion, or no answer
    from the publisher, rolls the batch back, and the next round tries again."""
    purged = {"media_items": 0, "media_uploads": 0}
    while True:
        async with runtime.transaction() as session:
            candidates = list(await session.scalars(sa.select(Item).where(unused_since(settings, now))
                                                    .limit(batch_size).with_for_update(skip_locked=True)))
            needed = await in_use([item.id for item in candidates]) if candidates else set()
            items = [item for item in candidates if item.id not in needed]
            for item in candidates:
                if item.id in needed:
                    item.last_used_at = now
            for item in items:
                await storage.delete(item.storage_key)
                await storage.delete(thumbnails.key_of(item.storage_key))
                await session.delete(item)
            uploads = list(await session.scalars(sa.select(Upload).where(abandoned_since(now))
                                                 .limit(batch_size).with_for_update(skip_locked=True)))
            for upload in uploads:
                await abort_stored(storage, upload)
                await session.delete(upload)
        purged["media_items"] += len(items)
        purged["media_uploads"] += len(uploads)
        PURGED.labels(service=runtime.service, kind="media_items").inc(len(items))
        PURGED.labels(service=runtime.service, kind="media_uploads").inc(len(uploads))
        if len(candidates) < batch_size and len(uploads) < batch_size:
            return purged


async def retention_round(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings, in_use: InUse,
                          now: datetime) -> dict[str, int]:
    purged = await purge_media(runtime, storage, settings, now, in_use)
    log.info("Retention purge done", **{f"{kind}_count": count for kind, count in purged.items()})
    return purged


async def run_retention(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings, in_use: InUse, *,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
    await repeat(settings.retention_interval_seconds,
                 lambda: retention_round(runtime, storage, settings, in_use, clock()), "Retention purge failed",
                 sleep=sleep)


def keep_purging(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings, in_use: InUse) -> None:
    runtime.in_background(lambda: run_retention(runtime, storage, settings, in_use))
