"""Identity's part of deleting an account: the person's profile, notification choices, sessions, mailed links and
sign-in trail."""

from __future__ import annotations

import sqlalchemy as sa

from services.identity import tables as t
from services.identity.mailer import Mail, greeting
from services.identity.notifications import MailerDep, SettingsDep
from services.identity.tokens import email_key
from shared.db import delete_rows
from shared.events import ErasureRequested, ErasureStepDone
from shared.messaging.consumer import ServiceOutbox, Session, Subscriptions

erasure = Subscriptions()


@erasure.on(ErasureRequested)
async def erase_user(request: ErasureRequested, session: Session, outbox: ServiceOutbox,
                     mailer: MailerDep, settings: SettingsDep) -> None:
    if request.scope != "account" or request.user_id is None:
        return
    erased: dict[str, int] = {}
    user = await session.get(t.User, request.user_id, with_for_update=True)
    if user is not None:
        key = email_key(user.email)
        erased["sessions"] = await delete_rows(session, sa.delete(t.Session).where(t.Session.user_id == user.id))
        erased["email_links"] = await delete_rows(session, sa.delete(t.EmailToken).where(
            t.EmailToken.user_id == user.id))
        erased["notification_preferences"] = await delete_rows(session, sa.delete(t.NotificationPreferences).where(
            t.NotificationPreferences.user_id == user.id))
        erased["sign_in_attempts"] = await delete_rows(session, sa.delete(t.SignInAttempt).where(
            sa.or_(t.SignInAttempt.user_id == user.id, t.SignInAttempt.email_key == key)))
        erased["rate_limit_entries"] = await delete_rows(session, sa.delete(t.RateLimitHit).where(
            t.RateLimitHit.key.endswith(f":{key}")))
        await session.delete(user)
        erased["profile"] = 1
        # The last mail to this address: Postifys forgets it with this transaction.
        mailer.send_later(Mail(
            to=user.email, subject="Your Postifys account has been deleted",
            text=f"{greeting(user)}\n\nAs you asked, your Postifys account has been deleted: your profile, "
                 "sessions and sign-in history are gone, and your connected accounts, posts and their data are "
                 "being deleted everywhere in Postifys. Postifys keeps only a record of the request, without "
                 "your name or email address.",
            link=f"{settings.public_url}/privacy/deletion-instructions", link_label="What deletion covers"))
    await outbox.add(session, ErasureStepDone(request_id=request.request_id, service="identity", erased=erased))
