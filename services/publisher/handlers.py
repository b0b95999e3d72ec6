"""What the publisher does with other services' events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.publisher import rules
from services.publisher.tables import Target, TargetEvent
from services.publisher.worker import complete_post_if_done, record_auth
from shared.bus import Handler
from shared.events import (
    AccountConnected,
    AccountDisconnected,
    AccountReauthRequired,
    Envelope,
    PostTargetFailed,
)
from shared.runtime import ServiceRuntime


def event_handlers(runtime: ServiceRuntime, wake: Callable[[], None]) -> dict[str, Handler]:
    async def pause_account(envelope: Envelope, session: AsyncSession) -> None:
        event = AccountReauthRequired.model_validate(envelope.data)
        await record_auth(session, event.account_id, reauth_required=True, as_of=envelope.occurred_at)

    async def resume_account(envelope: Envelope, session: AsyncSession) -> None:
        event = AccountConnected.model_validate(envelope.data)
        await record_auth(session, event.account_id, reauth_required=False, as_of=envelope.occurred_at)
        wake()

    async def fail_account_targets(envelope: Envelope, session: AsyncSession) -> None:
        event = AccountDisconnected.model_validate(envelope.data)
        now = datetime.now(UTC)
        targets = (await session.scalars(sa.select(Target).where(
            Target.account_id == event.account_id, Target.status.in_([*rules.ACTIVE, rules.DRAFT]),
            Target.lease_owner.is_(None)).with_for_update(skip_locked=True))).all()
        message = "The account was disconnected before this post went out."
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

    return {AccountReauthRequired.type: pause_account, AccountConnected.type: resume_account,
            AccountDisconnected.type: fail_account_targets}
