"""Mail identity sends on other services' behalf, from their events."""

from __future__ import annotations

from typing import Annotated

from services.identity.mailer import Mail, Mailer, greeting
from services.identity.settings import IdentitySettings
from services.identity.tables import User
from shared.events import AccountReauthRequired, PostTargetFailed
from shared.messaging.consumer import Provided, Session, Subscriptions

MailerDep = Annotated[Mailer, Provided()]
SettingsDep = Annotated[IdentitySettings, Provided()]
PLATFORMS = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok"}


notifications = Subscriptions()


@notifications.on(AccountReauthRequired)
async def reconnect_needed(event: AccountReauthRequired, session: Session, mailer: MailerDep,
                           settings: SettingsDep) -> None:
    user = await session.get(User, event.user_id)
    if user is None:
        return
    platform = PLATFORMS.get(event.platform, event.platform)
    mailer.send_later(Mail(
        to=user.email, subject=f"Reconnect your {platform} account on Postifys",
        text=f"{greeting(user)}\n\n{platform} no longer accepts Postifys' authorization for "
             f"{event.name or 'one of your accounts'}, so nothing can be published there until you reconnect "
             "it. Scheduled posts for it are kept.",
        link=f"{settings.public_url}/accounts", link_label="Reconnect"))


@notifications.on(PostTargetFailed)
async def target_failed(event: PostTargetFailed, session: Session, mailer: MailerDep,
                        settings: SettingsDep) -> None:
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
        link=f"{settings.public_url}/posts/{event.post_id}", link_label="See what happened"))
