"""The publisher's part of a deletion: posts, their targets and timelines, and what it kept about the accounts.
Runs after the connector has destroyed the tokens, so no covered target can start publishing any more. One that a
worker was already sending in that moment (token fetched, intent saved) may still reach the platform; its row is
gone here, so the worker stops at its next step."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.publisher.tables import (
    AccountAuth,
    AccountHold,
    EarlyOutcome,
    IdempotencyKey,
    PlatformCall,
    Post,
    Target,
)
from shared.db import delete_rows
from shared.events import ErasureAccountsResolved, ErasureStepDone
from shared.messaging.consumer import ServiceOutbox, Session, Subscriptions

erasure = Subscriptions()


@erasure.on(ErasureAccountsResolved)
async def erase_posts(request: ErasureAccountsResolved, session: Session, outbox: ServiceOutbox) -> None:
    erased = await erase(session, request)
    await outbox.add(session, ErasureStepDone(request_id=request.request_id, service="publisher", erased=erased))


async def erase(session: AsyncSession, request: ErasureAccountsResolved) -> dict[str, int]:
    if request.scope == "account":
        targets = sa.select(Target.id).where(Target.user_id.in_(request.user_ids))
        posts = sa.select(Post.id).where(Post.user_id.in_(request.user_ids))
    else:
        targets = sa.select(Target.id).where(Target.account_id.in_(request.account_ids))
        # A post goes with its last target; a post that still has other targets keeps its caption.
        posts = sa.select(Post.id).where(Post.id.in_(sa.select(Target.post_id).where(Target.id.in_(targets))),
                                         ~Post.id.in_(sa.select(Target.post_id).where(Target.id.not_in(targets))))
    publish_ids = sa.select(Target.checkpoint["publish_id"].astext).where(Target.id.in_(targets))
    erased = {
        "early_outcomes": await delete_rows(session, sa.delete(EarlyOutcome).where(
            EarlyOutcome.publish_id.in_(publish_ids))),
        "posts": await delete_rows(session, sa.delete(Post).where(Post.id.in_(posts))),
        "targets": await delete_rows(session, sa.delete(Target).where(Target.id.in_(targets))),
    }
    if request.scope == "account":
        erased["idempotency_keys"] = await delete_rows(session, sa.delete(IdempotencyKey).where(
            IdempotencyKey.user_id.in_(request.user_ids)))
    for table in (AccountAuth, AccountHold, PlatformCall):
        await session.execute(sa.delete(table).where(table.account_id.in_(request.account_ids)))
    return erased
