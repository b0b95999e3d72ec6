"""The publisher's part of a user's data export: every post with each target's status, platform ids, error and
timeline, as GET /posts/{id} shows it, in the shape shared.contracts.export names."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.publisher.api import render
from services.publisher.tables import Post, Target, TargetEvent
from shared.contracts.export import PostExport, PublisherExport
from shared.internal import callers

# Every query of an export sees the same moment, so a row added meanwhile never lacks its parent.
ONE_SNAPSHOT = {"isolation_level": "REPEATABLE READ"}


async def export_user(sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> PublisherExport:
    async with sessionmaker() as session:
        await session.connection(execution_options=ONE_SNAPSHOT)
        posts = list(await session.scalars(sa.select(Post).where(Post.user_id == user_id)
                                           .order_by(Post.created_at, Post.id)))
        targets = await session.scalars(sa.select(Target).where(Target.user_id == user_id)
                                        .order_by(Target.created_at, Target.id))
        events = await session.scalars(
            sa.select(TargetEvent).join(Target, Target.id == TargetEvent.target_id)
            .where(Target.user_id == user_id).order_by(TargetEvent.id))
        targets_of: dict[uuid.UUID, list[Target]] = {p.id: [] for p in posts}
        post_of: dict[uuid.UUID, uuid.UUID] = {}
        for target in targets:
            targets_of[target.post_id].append(target)
            post_of[target.id] = target.post_id
        events_of: dict[uuid.UUID, list[TargetEvent]] = {p.id: [] for p in posts}
        for event in events:
            events_of[post_of[event.target_id]].append(event)
    return PublisherExport(posts=[PostExport.model_validate(render(p, targets_of[p.id], events_of[p.id]))
                                  for p in posts])


def build_export_router(sessionmaker: async_sessionmaker[AsyncSession]) -> APIRouter:
    internal = APIRouter(prefix="/internal", include_in_schema=False)

    @internal.get("/users/{user_id}/export", response_model=PublisherExport)

    @callers("privacy")
    async def export(user_id: uuid.UUID) -> PublisherExport:
        return await export_user(sessionmaker, user_id)

    return internal
