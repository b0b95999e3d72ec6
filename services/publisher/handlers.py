"""What the publisher does with other services' events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from services.publisher import pipeline, rules
from services.publisher.erasure import erasure
from services.publisher.tables import EarlyOutcome, Target, TargetEvent
from services.publisher.worker import Worker, complete_post_if_done, finish_target, record_auth
from shared.events import (
    AccountConnected,
    AccountDisconnected,
    AccountReauthRequired,
    ErasureStepDone,
    PlatformWebhook,
    PostCompleted,
    PostScheduled,
    PostTargetFailed,
    PostTargetPublished,
)
from shared.messaging.consumer import Delivered, Provided, Session, Subscriptions
from shared.runtime import ServiceRuntime

subscriptions = Subscriptions(erasure)
"""Every event the publisher consumes, and every event it writes to its outbox."""
subscriptions.publishes(PostScheduled)
subscriptions.publishes(PostTargetPublished)
subscriptions.publishes(PostTargetFailed)
subscriptions.publishes(PostCompleted)
subscriptions.publishes(ErasureStepDone)
Runtime = Annotated[ServiceRuntime, Provided()]


@subscriptions.on(AccountReauthRequired)
async def pause_account(event: AccountReauthRequired, envelope: Delivered, session: Session) -> None:
    await record_auth(session, event.account_id, reauth_required=True, as_of=envelope.occurred_at)


@subscriptions.on(AccountConnected)
async def resume_account(event: AccountConnected, envelope: Delivered, session: Session,
                         worker: Annotated[Worker, Provided()]) -> None:
    await record_auth(session, event.account_id, reauth_required=False, as_of=envelope.occurred_at)
    worker.wake.set()


@subscriptions.on(AccountDisconnected)
async def fail_account_targets(event: AccountDisconnected, session: Session, runtime: Runtime) -> None:
    now = datetime.now(UTC)
    targets = (await session.scalars(sa.select(Target).where(
        Target.account_id == event.account_id, Target.status.in_([*rules.ACTIVE, rules.DRAFT]),
        Target.lease_owner.is_(None)).with_for_update(skip_locked=True))).all()
    message = "The account was disconnected before this post went out." + (
        f" {event.reason}" if event.reason else "")
    for target in targets:
        target.status, target.error_class, target.error_message = rules.FAILED, "account_disconnected", message
        target.finished_at = target.updated_at = now
        target.next_attempt_at = None
        session.add(TargetEvent(target_id=target.id, at=now, step="failed", status=rules.FAILED,
                                error_class="account_disconnected", message=message))
        await runtime.outbox.add(session, PostTargetFailed(
            post_id=target.post_id, target_id=target.id, user_id=target.user_id, account_id=target.account_id,
            platform=target.platform, error_class="account_disconnected", message=message))
        await complete_post_if_done(runtime, session, target.post_id, target.user_id)


@subscriptions.on(PlatformWebhook, *(f"webhook.tiktok.{name}" for name in (
    "post.publish.complete", "post.publish.publicly_available", "post.publish.failed",
    "post.publish.inbox_delivered")))
async def tiktok_outcome(webhook: PlatformWebhook, session: Session, runtime: Runtime) -> None:
    """TikTok's word on a publish, usually before the next status poll. Final states are never undone,
    so a late or repeated notice changes nothing."""
    content = webhook.event.get("content") or {}
    publish_id = str(content.get("publish_id") or "")
    event = str(webhook.event.get("event"))
    # Newest first: a publish_id names one post on TikTok, but a sandbox reset reuses them.
    target = await session.scalar(sa.select(Target).where(
        Target.checkpoint["publish_id"].astext == publish_id, Target.platform == "tiktok")
        .order_by(Target.created_at.desc()).limit(1).with_for_update())
    now = datetime.now(UTC)
    if not publish_id:
        return
    if target is None:
        await session.execute(insert(EarlyOutcome).values(
            publish_id=publish_id, event=event, content=content, received_at=now)
            .on_conflict_do_update(index_elements=[EarlyOutcome.publish_id],
                                   set_={"event": event, "content": content, "received_at": now}))
        return
    post_id = content.get("post_id")
    if target.status == rules.PUBLISHED and event == "post.publish.publicly_available" and post_id:
        # The public id only exists once moderation is through; it names the post better than publish_id.
        username = target.checkpoint.get("creator_username")
        target.remote_id = str(post_id)
        target.permalink = f"https://www.tiktok.com/@{username}/video/{post_id}" if username else None
        session.add(TargetEvent(target_id=target.id, at=now, step="webhook", status=target.status,
                                platform_ids={"post_id": str(post_id)}, message="Publicly available on TikTok."))
        return
    if target.status in rules.FINAL:
        return
    outcome = pipeline.tiktok_webhook_outcome(event, content, publish_id,
                                              target.checkpoint.get("creator_username"))
    target.lease_owner = target.lease_expires_at = None
    target.updated_at = now
    session.add(TargetEvent(target_id=target.id, at=now, step="webhook", status=target.status,
                            message=f"TikTok webhook {event}"))
    await finish_target(runtime, session, target, outcome, now)
