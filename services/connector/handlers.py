"""What the connector does when a platform takes an authorization back (webhooks, Meta's Deauthorize callback)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.connector import rules
from services.connector.erasure import Connector, erasure
from services.connector.service import ConnectorService
from services.connector.tables import Account, AccountEvent, Connection
from shared.events import (
    AccountConnected,
    AccountDisconnected,
    AccountReauthRequired,
    ErasureStepDone,
    MetaDeauthorized,
    PlatformWebhook,
)
from shared.messaging.consumer import Session, Subscriptions

TIKTOK_REMOVAL_REASONS = {
    0: "for an unknown reason", 1: "because the creator disconnected Postifys in TikTok",
    2: "because the TikTok account was deleted", 3: "because the creator's age changed",
    4: "because the TikTok account was banned", 5: "by Postifys' TikTok app",
}


subscriptions = Subscriptions(erasure)
"""Every event the connector consumes, and every event it writes to its outbox."""
subscriptions.publishes(AccountConnected)
subscriptions.publishes(AccountReauthRequired)
subscriptions.publishes(AccountDisconnected)
subscriptions.publishes(ErasureStepDone)


@subscriptions.on(PlatformWebhook, "webhook.tiktok.authorization.removed")
async def tiktok_authorization_removed(webhook: PlatformWebhook, session: Session, service: Connector) -> None:
    reason = (webhook.event.get("content") or {}).get("reason", 0)
    text = f"TikTok removed the authorization {TIKTOK_REMOVAL_REASONS.get(reason, 'for an unknown reason')}."
    accounts = (await session.scalars(sa.select(Account).where(
        Account.kind == "tiktok", Account.external_id == str(webhook.event.get("user_openid")),
        Account.status != rules.DISCONNECTED).with_for_update())).all()
    for account in accounts:
        await disconnect(service, session, account, text)


@subscriptions.on(PlatformWebhook, "webhook.meta.permissions.#")
async def meta_permission_revoked(webhook: PlatformWebhook, session: Session, service: Connector) -> None:
    value = webhook.event.get("value") or {}
    if value.get("verb") != "revoked":
        return
    accounts = (await session.scalars(sa.select(Account).join(Connection, Connection.id == Account.connection_id)
                                      .where(Connection.provider == "facebook",
                                             Connection.external_user_id == webhook.event.get("object_id"),
                                             Account.status == rules.ACTIVE).with_for_update(of=Account))).all()
    for account in accounts:
        await service.mark_reauth(session, account, f"Facebook permission {webhook.event.get('field')} was "
                                                    "revoked.")


@subscriptions.on(MetaDeauthorized)
async def meta_deauthorized(event: MetaDeauthorized, session: Session, service: Connector) -> None:
    """Meta's Deauthorize callback: the person removed Postifys on Facebook; their tokens are dead already."""
    logins = (await session.scalars(sa.select(Connection).where(
        Connection.provider.in_(("facebook", "instagram")),
        Connection.external_user_id == event.meta_user_id))).all()
    await service.tokens.destroy(session, [c.id for c in logins])
    accounts = (await session.scalars(sa.select(Account).where(
        Account.connection_id.in_([c.id for c in logins]), Account.status != rules.DISCONNECTED)
        .with_for_update())).all()
    for account in accounts:
        await disconnect(service, session, account, "Postifys was removed from the Facebook account's apps.")


async def disconnect(service: ConnectorService, session: AsyncSession, account: Account, reason: str) -> None:
    now = datetime.now(UTC)
    await service.tokens.destroy(session, [account.id])
    account.status, account.status_reason = rules.DISCONNECTED, reason
    account.disconnected_at = account.updated_at = now
    session.add(AccountEvent(account_id=account.id, at=now, kind="disconnected", detail=reason))
    await service.runtime.outbox.add(session, AccountDisconnected(
        account_id=account.id, user_id=account.user_id, platform=account.platform, kind=account.kind,
        name=account.name or account.username, reason=reason))
