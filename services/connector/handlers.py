"""What the connector does when a platform takes an authorization back (webhooks, Meta's Deauthorize callback)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.connector import rules
from services.connector.service import ConnectorService
from services.connector.tables import Account, AccountEvent, Connection
from shared.bus import Handler
from shared.events import AccountDisconnected, Envelope, MetaDeauthorized, PlatformWebhook

TIKTOK_REMOVAL_REASONS = {
    0: "for an unknown reason", 1: "because the creator disconnected Postifys in TikTok",
    2: "because the TikTok account was deleted", 3: "because the creator's age changed",
    4: "because the TikTok account was banned", 5: "by Postifys' TikTok app",
}


def webhook_handlers(service: ConnectorService) -> dict[str, Handler]:
    async def tiktok_authorization_removed(envelope: Envelope, session: AsyncSession) -> None:
        webhook = PlatformWebhook.model_validate(envelope.data)
        reason = (webhook.event.get("content") or {}).get("reason", 0)
        text = f"TikTok removed the authorization {TIKTOK_REMOVAL_REASONS.get(reason, 'for an unknown reason')}."
        accounts = (await session.scalars(sa.select(Account).where(
            Account.kind == "tiktok", Account.external_id == str(webhook.event.get("user_openid")),
            Account.status != rules.DISCONNECTED).with_for_update())).all()
        for account in accounts:
            await disconnect(session, account, text)

    async def meta_permission_revoked(envelope: Envelope, session: AsyncSession) -> None:
        webhook = PlatformWebhook.model_validate(envelope.data)
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

    async def meta_deauthorized(envelope: Envelope, session: AsyncSession) -> None:
        """Meta's Deauthorize callback: the person removed Postifys on Facebook; their tokens are dead already."""
        event = MetaDeauthorized.model_validate(envelope.data)
        logins = (await session.scalars(sa.select(Connection).where(
            Connection.provider.in_(("facebook", "instagram")),
            Connection.external_user_id == event.meta_user_id))).all()
        await service.tokens.destroy(session, [c.id for c in logins])
        accounts = (await session.scalars(sa.select(Account).where(
            Account.connection_id.in_([c.id for c in logins]), Account.status != rules.DISCONNECTED)
            .with_for_update())).all()
        for account in accounts:
            await disconnect(session, account, "Postifys was removed from the Facebook account's apps.")

    async def disconnect(session: AsyncSession, account: Account, reason: str) -> None:
        now = datetime.now(UTC)
        await service.tokens.destroy(session, [account.id])
        account.status, account.status_reason = rules.DISCONNECTED, reason
        account.disconnected_at = account.updated_at = now
        session.add(AccountEvent(account_id=account.id, at=now, kind="disconnected", detail=reason))
        await service.runtime.outbox.add(session, AccountDisconnected(
            account_id=account.id, user_id=account.user_id, platform=account.platform, kind=account.kind,
            name=account.name or account.username, reason=reason))

    return {"webhook.tiktok.authorization.removed": tiktok_authorization_removed,
            "webhook.meta.permissions.#": meta_permission_revoked,
            MetaDeauthorized.type: meta_deauthorized}
