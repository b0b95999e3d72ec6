"""What the media service keeps, and for how long: a file no post has used for `media_unused_days` (30; a file
never used counts from its upload), and an upload that made no progress for a day. Each goes with its stored
objects, so the purge is the service's own rather than shared.retention's (which deletes rows only)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from services.media import thumbnails
from services.media.settings import MediaSettings
from services.media.storage import Partial, Storage
from services.media.tables import Item, Upload
from shared.retention import BATCH_SIZE, PURGED
from shared.runtime import ServiceRuntime, repeat

log = structlog.get_logger()

ABANDONED_UPLOAD_AGE = timedelta(days=1)


def unused_since(settings: MediaSettings, now: datetime) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(Item.last_used_at, Item.created_at) < now - timedelta(days=settings.media_unused_days)


def abandoned_since(now: datetime) -> sa.ColumnElement[bool]:
    return Upload.updated_at < now - ABANDONED_UPLOAD_AGE


async def purge_media(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings, now: datetime,
                      batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Every unused item and abandoned upload at `now`, a batch per transaction: the rows are locked (one being
    resolved for a post or taking a chunk is left for the next round), their objects deleted, then the rows. A
    failed deletion rolls the batch back, and the next round deletes again what is left."""
    purged = {"media_items": 0, "media_uploads": 0}
    while True:
        async with runtime.transaction() as session:
            items = list(await session.scalars(sa.select(Item).where(unused_since(settings, now))
                                               .limit(batch_size).with_for_update(skip_locked=True)))
            for item in items:
                await storage.delete(item.storage_key)
                await storage.delete(thumbnails.key_of(item.storage_key))
                await session.delete(item)
            uploads = list(await session.scalars(sa.select(Upload).where(abandoned_since(now))
                                                 .limit(batch_size).with_for_update(skip_locked=True)))
            for upload in uploads:
                await storage.abort(Partial(upload.storage_key, upload.offset, upload.storage_state))
                await session.delete(upload)
        purged["media_items"] += len(items)
        purged["media_uploads"] += len(uploads)
        PURGED.labels(service=runtime.service, kind="media_items").inc(len(items))
        PURGED.labels(service=runtime.service, kind="media_uploads").inc(len(uploads))
        if len(items) < batch_size and len(uploads) < batch_size:
            return purged


async def retention_round(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings,
                          now: datetime) -> dict[str, int]:
    purged = await purge_media(runtime, storage, settings, now)
    log.info("Retention purge done", **{f"{kind}_count": count for kind, count in purged.items()})
    return purged


async def run_retention(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings, *,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
    await repeat(settings.retention_interval_seconds,
                 lambda: retention_round(runtime, storage, settings, clock()), "Retention purge failed", sleep=sleep)


def keep_purging(runtime: ServiceRuntime, storage: Storage, settings: MediaSettings) -> None:
    runtime.in_background(lambda: run_retention(runtime, storage, settings))
