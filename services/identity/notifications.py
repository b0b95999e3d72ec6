"""Mail identity sends on other services' behalf, from their events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.mailer import Mail, Mailer, greeting
from services.identity.tables import User
from shared.bus import Handler
from shared.events import AccountReauthRequired, Envelope, PostTargetFailed

PLATFORMS = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok"}


def notification_handlers(mailer: Mailer, public_url: str) -> dict[str, Handler]:
    async def reconnect_needed(envelope: Envelope, session: AsyncSession) -> None:
        event = AccountReauthRequired.model_validate(envelope.data)
        user = await session.get(User, event.user_id)
        if user is None:
            return
        platform = PLATFORMS.get(event.platform, event.platform)
        mailer.send_later(Mail(
            to=user.email, subject=f"Reconnect your {platform} account on Postifys",
            text=f"{greeting(user)}\n\n{platform} no longer accepts Postifys' authorization for "
                 f"{event.name or 'one of your accounts'}, so nothing can be published there until you reconnect "
                 "it. Scheduled posts for it are kept.",
            link=f"{public_url}/accounts", link_label="Reconnect"))

    async def target_failed(envelope: Envelope, session: AsyncSession) -> None:
        event = PostTargetFailed.model_validate(envelope.data)
        if event.error_class == "reconnect_required":
            return  # the reconnect mail says it
        user = await session.get(User, event.user_id)
        if user is None:
            return
        platform = PLATFORMS.get(event.platform, event.platform)
        mailer.send_later(Mail(
            to=user.email, subject=f"A post could not be published to {platform}",
            text=f"{greeting(user)}\n\nPostifys could not publish one of your posts to {platform}.\n\n"
                 f"{platform} said: {event.message}",
            link=f"{public_url}/posts/{event.post_id}", link_label="See what happened"))

    return {AccountReauthRequired.type: reconnect_needed, PostTargetFailed.type: target_failed}
