"""Which library media a post still needs. The media service asks before its retention deletes a file nobody has
used for a while, so that a draft, or a post scheduled months ahead, keeps its files until it is done."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.publisher import rules
from services.publisher.tables import Post, Target
from shared.internal import callers
from shared.validation import StrictModel

# Each id is one containment test on the posts' GIN index; a retention batch asks about this many at most.
MOST_ASKED = 1000
PER_QUERY = 100


class MediaInUseIn(StrictModel):
    media_ids: list[uuid.UUID] = Field(max_length=MOST_ASKED)


class MediaInUseOut(BaseModel):
    in_use: list[uuid.UUID] = Field(description="The asked ids that a post not yet final names.")


async def media_in_use(session: AsyncSession, media_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """A post is not final while one of its targets is not (a draft's targets are drafts)."""
    unfinished = sa.exists().where(Target.post_id == Post.id, Target.status.not_in(rules.FINAL))
    asked = {str(media_id) for media_id in media_ids}
    found: set[uuid.UUID] = set()
    ordered = sorted(asked)
    for chunk in (ordered[i:i + PER_QUERY] for i in range(0, len(ordered), PER_QUERY)):
        named = sa.or_(*(Post.media.contains([{"media_id": media_id}]) for media_id in chunk))
        for media in await session.scalars(sa.select(Post.media).where(named, unfinished)):
            found.update(uuid.UUID(m["media_id"]) for m in media if m.get("media_id") in asked)
    return found


def build_media_use_router(sessionmaker: async_sessionmaker[AsyncSession]) -> APIRouter:
    internal = APIRouter(prefix="/internal", include_in_schema=False)

    @internal.post("/media/in-use", response_model=MediaInUseOut)
    @callers("media")
    async def in_use(body: MediaInUseIn) -> MediaInUseOut:
        async with sessionmaker() as session:
            return MediaInUseOut(in_use=sorted(await media_in_use(session, body.media_ids)))

    return internal
