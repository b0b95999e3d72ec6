"""Mail identity sends on other services' behalf, from their events, as far as each person's notification choices
ask for it."""

from __future__ import annotations

from typing import Annotated

from services.identity.mailer import Mail, Mailer, greeting
from services.identity.preferences import choices_of
from services.identity.settings import IdentitySettings
from services.identity.tables import User
from shared.events import AccountReauthRequired, PostCompleted, PostTargetFailed
from shared.messaging.consumer import Provided, Session, Subscriptions

MailerDep = Annotated[Mailer, Provided()]
SettingsDep = Annotated[IdentitySettings, Provided()]
PLATFORMS = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok"}


notifications = Subscriptions()


@notifications.on(AccountReauthRequired)
async def reconnect_needed(event: AccountReauthRequired, session: Session, mailer: MailerDep,
                           settings: SettingsDep) -> None:
    user = await session.get(User, event.user_id)
    if user is None or not (await choices_of(session, user.id)).reauth_required:
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
    if user is None or not (await choices_of(session, user.id)).target_failed:
        return
    platform = PLATFORMS.get(event.platform, event.platform)
    mailer.send_later(Mail(
        to=user.email, subject=f"A post could not be published to {platform}",
        text=f"{greeting(user)}\n\nPostifys could not publish one of your posts to {platform}.\n\n"
             f"{platform} said: {event.message}",
        link=f"{settings.public_url}/posts/{event.post_id}", link_label="See what happened"))


@notifications.on(PostCompleted)
async def post_published(event: PostCompleted, session: Session, mailer: MailerDep, settings: SettingsDep) -> None:
    """One mail per post, once every account has its outcome; the failures have had their own mails."""
    if event.published == 0:
        return
    user = await session.get(User, event.user_id)
    if user is None or not (await choices_of(session, user.id)).post_published:
        return
    accounts = f"{event.published} account{'s' if event.published > 1 else ''}"
    failed = (f" Publishing to {event.failed} other account{'s' if event.failed > 1 else ''} failed."
              if event.failed else "")
    mailer.send_later(Mail(
        to=user.email, subject="Your post has been published",
        text=f"{greeting(user)}\n\nYour post has been published to {accounts}.{failed}",
        link=f"{settings.public_url}/posts/{event.post_id}", link_label="See your post"))
