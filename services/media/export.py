"""The media service's part of a user's data export: each file of the library with its probe, and the uploads not
finished, described in the shape shared.contracts.export names (never a file's bytes or a signed URL)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.media.tables import Item, Upload
from shared.contracts.export import MediaExport, MediaItemExport, MediaUploadExport
from shared.contracts.media import MediaProbe
from shared.internal import callers

ONE_SNAPSHOT = {"isolation_level": "REPEATABLE READ"}


async def export_user(sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> MediaExport:
    async with sessionmaker() as session:
        await session.connection(execution_options=ONE_SNAPSHOT)
        items = await session.scalars(sa.select(Item).where(Item.user_id == user_id)
                                      .order_by(Item.created_at, Item.id))
        media = [MediaItemExport(id=i.id, name=i.name, kind=i.kind, size_bytes=i.size_bytes, sha256=i.sha256,
                                 probe=MediaProbe.model_validate(i.probe), created_at=i.created_at,
                                 last_used_at=i.last_used_at) for i in items]
        uploads = await session.scalars(sa.select(Upload).where(Upload.user_id == user_id)
                                        .order_by(Upload.created_at, Upload.id))
        unfinished = [MediaUploadExport(id=u.id, name=u.name, kind=u.kind, declared_type=u.declared_type,
                                        size_bytes=u.size_bytes, received_bytes=u.offset, created_at=u.created_at,
                                        updated_at=u.updated_at) for u in uploads]
    return MediaExport(media=media, media_uploads=unfinished)


def build_export_router(sessionmaker: async_sessionmaker[AsyncSession]) -> APIRouter:
    internal = APIRouter(prefix="/internal", include_in_schema=False)

    @internal.get("/users/{user_id}/export", response_model=MediaExport)
    @callers("privacy")
    async def export(user_id: uuid.UUID) -> MediaExport:
        return await export_user(sessionmaker, user_id)

    return internal
