"""Identity use cases. Every answer that could reveal whether an email is registered is the same
whether it is or not, in body and (by doing the same work) in time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import tables as t
from services.identity.mailer import Mail, Mailer, greeting
from services.identity.passwords import Hasher, PasswordRejected, check_policy
from services.identity.preferences import NotificationChoices, change_choices, choices_of
from services.identity.settings import IdentitySettings
from services.identity.tokens import email_key, new_token, token_hash
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized, Unprocessable
from shared.events import UserEmailVerified, UserPasswordChanged, UserRegistered
from shared.runtime import ServiceRuntime
from shared.validation import valid_zone

VERIFY = "verify"
RESET = "reset"
EMAIL_CHANGE = "email_change"
HOUR = timedelta(hours=1)
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)



def invalid_credentials() -> Unauthorized:
    return Unauthorized("Invalid email or password.", code="invalid_credentials")


def too_many_attempts(what: str) -> TooManyRequests:
    return TooManyRequests(f"Too many failed {what}. Try again in an hour, or reset your password.",
                           code="too_many_attempts", headers={"Retry-After": "3600"})


def email_taken() -> Conflict:
    message = "Another account uses this address now, so yours keeps its address. Choose another one."
    return Conflict(message, code="email_taken")


def invalid_link() -> BadRequest:
    return BadRequest("This link is invalid, was already used, or has expired. Ask for a new one.",
                      code="invalid_token")


def masked(email: str) -> str:
    """Enough of an address for its owner to recognise it, not enough to hand it on: n***@example.com."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class SignedIn:
    user: t.User
    token: str
    max_age: int


@dataclass(frozen=True)
class Profile:
    user: t.User
    pending_email: str | None


@dataclass(frozen=True)
class SignInPage:
    attempts: list[t.SignInAttempt]
    more: bool


@dataclass(frozen=True)
class ResolvedSession:
    user_id: uuid.UUID
    session_id: uuid.UUID
    email_verified: bool
    name: str
    email: str
    timezone: str


def password_problem(password: str, *, email: str = "", name: str = "") -> None:
    try:
        check_policy(password, email=email, name=name)
    except PasswordRejected as exc:
        raise Unprocessable(str(exc), code="weak_password", details=[{"field": "password", "message": str(exc)}]) \
            from None


class IdentityService:
    def __init__(self, runtime: ServiceRuntime, settings: IdentitySettings, mailer: Mailer,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.runtime = runtime
        self.settings = settings
        self.mailer = mailer
        self.now = now
        self.hasher = Hasher(memory_kib=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost,
                             parallelism=settings.argon2_parallelism)

    # --- sign-up and verification -------------------------------------------------------------

    async def sign_up(self, *, name: str, email: str, password: str, client: ClientInfo,
                      timezone: str | None = None) -> uuid.UUID:
        """`timezone` is the browser's guess, not the person's choice: one that is not an IANA name becomes UTC."""
        email = email.strip().lower()
        zone = timezone if timezone and valid_zone(timezone) else "UTC"
        password_problem(password, email=email, name=name)
        password_hash = await self.hasher.hash_async(password)
        now = self.now()
        async with self.runtime.transaction() as session:
            await self._limit(session, f"signup-ip:{client.ip}", self.settings.sign_ups_per_ip_per_hour)
            existing = await session.scalar(sa.select(t.User).where(t.User.email == email))
            if existing is not None:
                # Same answer as a new sign-up; the owner learns of the attempt by mail.
                self.mailer.send_later(Mail(
                    to=email, subject="Someone tried to sign up to Postifys with your email",
                    text=f"{greeting(existing)}\n\nSomeone tried to create a Postifys account with this address. "
                         "You already have one. If it was you, sign in or reset your password. "
                         "If not, you can ignore this message.",
                    link=f"{self.settings.public_url}/", link_label="Open Postifys"))
                return uuid.uuid4()
            user = t.User(id=uuid.uuid4(), name=name.strip(), email=email, password_hash=password_hash,
                          created_at=now, password_changed_at=now, timezone=zone)
            inserted = await session.execute(
                insert(t.User).values(id=user.id, name=user.name, email=email, password_hash=password_hash,
                                      created_at=now, password_changed_at=now, timezone=zone)
                .on_conflict_do_nothing(index_elements=[t.User.email]).returning(t.User.id))
            if inserted.first() is None:
                return uuid.uuid4()  # a concurrent sign-up with this email won; same answer as above
            token = await self._issue_email_token(session, user, VERIFY)
            await self.runtime.outbox.add(session, UserRegistered(user_id=user.id))
        self._mail_verification(user, token)
        return user.id

    async def resend_verification(self, *, email: str, client: ClientInfo) -> None:
        email = email.strip().lower()
        async with self.runtime.transaction() as session:
            await self._limit(session, f"mail-ip:{client.ip}", self.settings.mail_requests_per_ip_per_hour)
            allowed = await self._under_limit(session, f"verify:{email_key(email)}",
                                              self.settings.mails_per_account_per_hour)
            user = await session.scalar(sa.select(t.User).where(t.User.email == email))
            if user is None or user.email_verified_at is not None or not allowed:
                return
            token = await self._issue_email_token(session, user, VERIFY)
        self._mail_verification(user, token)

    async def verify_email(self, token: str) -> bool:
        """Follows a verification link, or an email change's: that one also makes its address the account's.
        Whether it changed the address."""
        old_email = None
        try:
            async with self.runtime.transaction() as session:
                record, user = await self._consume_email_token(session, token, (VERIFY, EMAIL_CHANGE))
                was_verified = user.email_verified_at is not None
                if record.purpose == EMAIL_CHANGE:
                    old_email = await self._switch_email(session, user, record)
                if not was_verified:
                    user.email_verified_at = user.email_verified_at or self.now()
                    await self.runtime.outbox.add(session, UserEmailVerified(user_id=user.id))
        except IntegrityError:
            raise email_taken() from None  # another account took the address while this link was being followed
        if old_email is None:
            return False
        self._mail_email_changed(user, old_email)
        return True

    # --- sessions ------------------------------------------------------------------------------

    async def sign_in(self, *, email: str, password: str, client: ClientInfo) -> SignedIn:
        email = email.strip().lower()
        key = email_key(email)
        now = self.now()
        # Read, then verify outside any transaction (argon2 takes tens of milliseconds), then write.
        async with self.runtime.sessionmaker() as session:
            user = await session.scalar(sa.select(t.User).where(t.User.email == email))
            throttled = await self._throttled(session, user, key, client, now)
        verified = not throttled and await self.hasher.verify_async(user.password_hash if user else None, password)
        async with self.runtime.transaction() as session:
            if throttled:
                self._audit(session, now, user, key, client, "throttled")
                failure: Exception | None = too_many_attempts("sign-ins")
            elif not verified or user is None:
                self._audit(session, now, user, key, client, "failed")
                failure = invalid_credentials()
            else:
                failure = None
        if failure is not None:
            raise failure
        assert user is not None
        rehashed = await self.hasher.hash_async(password) if self.hasher.needs_rehash(user.password_hash) else None
        async with self.runtime.transaction() as session:
            if rehashed:
                await session.execute(sa.update(t.User).where(t.User.id == user.id).values(password_hash=rehashed))
            self._audit(session, now, user, key, client, "succeeded")
            token = await self._open_session(session, user, client)
        return SignedIn(user=user, token=token, max_age=self.settings.session_absolute_lifetime_seconds)

    async def resolve(self, token: str) -> ResolvedSession | None:
        now = self.now()
        async with self.runtime.transaction() as session:
            row = (await session.execute(
                sa.select(t.Session, t.User.email_verified_at, t.User.name, t.User.email, t.User.timezone)
                .join(t.User, t.User.id == t.Session.user_id)
                .where(t.Session.token_hash == token_hash(token), t.Session.revoked_at.is_(None))
            )).first()
            if row is None:
                return None
            record, verified_at, name, email, zone = row
            idle = timedelta(seconds=self.settings.session_idle_timeout_seconds)
            if now >= record.expires_at or now - record.last_seen_at >= idle:
                return None
            if now - record.last_seen_at >= SESSION_TOUCH_INTERVAL:
                record.last_seen_at = now
            return ResolvedSession(user_id=record.user_id, session_id=record.id,
                                   email_verified=verified_at is not None, name=name, email=email, timezone=zone)

    async def sign_out(self, session_id: uuid.UUID) -> None:
        async with self.runtime.transaction() as session:
            await session.execute(sa.update(t.Session).where(t.Session.id == session_id, t.Session.revoked_at.is_(None))
                                  .values(revoked_at=self.now()))

    async def list_sessions(self, user_id: uuid.UUID) -> list[t.Session]:
        now = self.now()
        idle = timedelta(seconds=self.settings.session_idle_timeout_seconds)
        async with self.runtime.sessionmaker() as session:
            rows = await session.scalars(
                sa.select(t.Session).where(t.Session.user_id == user_id, t.Session.revoked_at.is_(None),
                                           t.Session.expires_at > now, t.Session.last_seen_at > now - idle)
                .order_by(t.Session.created_at.desc()).limit(200))
            return list(rows)

    async def revoke_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        async with self.runtime.transaction() as session:
            result = await session.execute(
                sa.update(t.Session).where(t.Session.id == session_id, t.Session.user_id == user_id,
                                           t.Session.revoked_at.is_(None)).values(revoked_at=self.now()))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("No such session.", code="session_not_found")

    async def revoke_other_sessions(self, user_id: uuid.UUID, keep_session: uuid.UUID | None) -> int:
        async with self.runtime.transaction() as session:
            revoke = sa.update(t.Session).where(t.Session.user_id == user_id, t.Session.revoked_at.is_(None))
            if keep_session is not None:
                revoke = revoke.where(t.Session.id != keep_session)
            result = await session.execute(revoke.values(revoked_at=self.now()))
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def sign_in_history(self, user_id: uuid.UUID, *, before: tuple[datetime, int] | None,
                              limit: int) -> SignInPage:
        """Newest first; `before` is the (time, id) of the last attempt of the previous page."""
        query = sa.select(t.SignInAttempt).where(t.SignInAttempt.user_id == user_id)
        if before is not None:
            query = query.where(sa.tuple_(t.SignInAttempt.at, t.SignInAttempt.id) < sa.tuple_(
                sa.literal(before[0], t.Timestamp), sa.literal(before[1], sa.BigInteger())))
        async with self.runtime.sessionmaker() as session:
            rows = list(await session.scalars(
                query.order_by(t.SignInAttempt.at.desc(), t.SignInAttempt.id.desc()).limit(limit + 1)))
        return SignInPage(attempts=rows[:limit], more=len(rows) > limit)

    async def get_user(self, user_id: uuid.UUID) -> t.User:
        async with self.runtime.sessionmaker() as session:
            user = await session.get(t.User, user_id)
        if user is None:
            raise Unauthorized()
        return user

    async def update_profile(self, user_id: uuid.UUID, *, name: str | None = None,
                             timezone: str | None = None) -> t.User:
        if timezone is not None and not valid_zone(timezone):
            message = f"{timezone} is not a time zone we know. Choose one by its IANA name, such as Europe/Paris."
            raise Unprocessable(message, code="timezone_unknown", details=[{"field": "timezone", "message": message}])
        async with self.runtime.transaction() as session:
            user = await session.get(t.User, user_id, with_for_update=True)
            if user is None:
                raise Unauthorized()
            if name is not None:
                user.name = name.strip()
            if timezone is not None:
                user.timezone = timezone
        return user

    async def profile(self, user_id: uuid.UUID) -> Profile:
        async with self.runtime.sessionmaker() as session:
            user = await session.get(t.User, user_id)
            if user is None:
                raise Unauthorized()
            return Profile(user=user, pending_email=await self._pending_email(session, user_id))

    # --- email change ----------------------------------------------------------------------------

    async def request_email_change(self, *, user_id: uuid.UUID, new_email: str, password: str,
                                   client: ClientInfo) -> str:
        """Mails a link to the new address, which switches the account to it when followed, and a notice to the
        current one. An address another account uses gets the same answer and pending state, but its owner is
        told instead and no link exists: nobody learns from this which addresses have accounts."""
        new_email = new_email.strip().lower()
        user = await self.get_user(user_id)
        if new_email == user.email:
            message = "This is already the address of your account."
            raise Unprocessable(message, code="email_unchanged", details=[{"field": "new_email", "message": message}])
        if not await self._password_checked_again(user, password, client, "email_change"):
            raise Forbidden("The password is not correct.", code="wrong_password")
        token = new_token()
        async with self.runtime.transaction() as session:
            await self._limit(session, f"mail-ip:{client.ip}", self.settings.mail_requests_per_ip_per_hour)
            user = await session.get_one(t.User, user_id, with_for_update=True)
            if not await self._under_limit(session, f"email-change:{email_key(user.email)}",
                                           self.settings.mails_per_account_per_hour):
                raise TooManyRequests("You asked to change your address too many times in the last hour. Try "
                                      "again later.", code="too_many_email_changes", headers={"Retry-After": "3600"})
            await self._end_links(session, user.id, (EMAIL_CHANGE,))
            owner = await session.scalar(sa.select(t.User).where(t.User.email == new_email))
            await self._issue_email_token(session, user, EMAIL_CHANGE, token, email=new_email)
        if owner is None:
            self._mail_email_confirmation(new_email, token)
        else:
            self.mailer.send_later(Mail(
                to=owner.email, subject="Someone tried to use your email for another Postifys account",
                text=f"{greeting(owner)}\n\nSomeone signed in to another Postifys account asked to change its "
                     "address to this one. It stays yours: nothing changes on your account, and nobody can take an "
                     "address without its mailbox. You can ignore this message.",
                link=f"{self.settings.public_url}/", link_label="Open Postifys"))
        self._mail_email_change_notice(user, new_email)
        return new_email

    async def cancel_email_change(self, user_id: uuid.UUID) -> None:
        async with self.runtime.transaction() as session:
            await self._end_links(session, user_id, (EMAIL_CHANGE,))

    async def _pending_email(self, session: AsyncSession, user_id: uuid.UUID) -> str | None:
        return await session.scalar(
            sa.select(t.EmailToken.email).where(t.EmailToken.user_id == user_id, t.EmailToken.purpose == EMAIL_CHANGE,
                                                t.EmailToken.used_at.is_(None), t.EmailToken.expires_at > self.now())
            .order_by(t.EmailToken.created_at.desc()).limit(1))

    async def _switch_email(self, session: AsyncSession, user: t.User, record: t.EmailToken) -> str:
        assert record.email is not None
        taken = await session.scalar(sa.select(t.User.id).where(t.User.email == record.email, t.User.id != user.id))
        if taken is not None:
            raise email_taken()
        old_email = user.email
        user.email = record.email
        user.email_verified_at = self.now()
        # Links mailed to the old address (a reset among them) must not outlive it, nor other pending changes.
        await self._end_links(session, user.id, (VERIFY, RESET, EMAIL_CHANGE))
        return old_email

    async def _end_links(self, session: AsyncSession, user_id: uuid.UUID, purposes: tuple[str, ...]) -> None:
        await session.execute(sa.update(t.EmailToken).where(t.EmailToken.user_id == user_id,
                                                            t.EmailToken.purpose.in_(purposes),
                                                            t.EmailToken.used_at.is_(None))
                              .values(used_at=self.now()))

    # --- notification preferences ----------------------------------------------------------------

    async def notification_choices(self, user_id: uuid.UUID) -> NotificationChoices:
        async with self.runtime.sessionmaker() as session:
            return await choices_of(session, user_id)

    async def change_notification_choices(self, user_id: uuid.UUID, **choices: bool | None) -> NotificationChoices:
        async with self.runtime.transaction() as session:
            return await change_choices(session, user_id, self.now(), **choices)

    # --- passwords -----------------------------------------------------------------------------

    async def request_password_reset(self, *, email: str, client: ClientInfo) -> None:
        email = email.strip().lower()
        token = new_token()
        async with self.runtime.transaction() as session:
            await self._limit(session, f"mail-ip:{client.ip}", self.settings.mail_requests_per_ip_per_hour)
            allowed = await self._under_limit(session, f"reset:{email_key(email)}",
                                              self.settings.mails_per_account_per_hour)
            user = await session.scalar(sa.select(t.User).where(t.User.email == email))
            if user is None or not allowed:
                return
            token = await self._issue_email_token(session, user, RESET, token)
        self.mailer.send_later(Mail(
            to=user.email, subject="Reset your Postifys password",
            text=f"{greeting(user)}\n\nSomeone asked to reset the password of your Postifys account. "
                 "The link below works once, for 30 minutes. If it was not you, ignore this message: "
                 "your password stays as it is.",
            link=f"{self.settings.public_url}/reset-password#token={token}", link_label="Choose a new password"))

    async def confirm_password_reset(self, *, token: str, password: str) -> None:
        async with self.runtime.transaction() as session:
            record, user = await self._consume_email_token(session, token, (RESET,))
            password_problem(password, email=user.email, name=user.name)
            await self._set_password(session, user, password, keep_session=None, reason="reset")
            # Following the mailed link proves the address too.
            if user.email_verified_at is None:
                user.email_verified_at = self.now()
                await self.runtime.outbox.add(session, UserEmailVerified(user_id=user.id))
        self._mail_password_changed(user)

    async def change_password(self, *, user_id: uuid.UUID, session_id: uuid.UUID | None, current_password: str,
                              new_password: str, client: ClientInfo) -> None:
        user = await self.get_user(user_id)
        if not await self._password_checked_again(user, current_password, client, "password_change"):
            raise Forbidden("The current password is not correct.", code="wrong_password")
        password_problem(new_password, email=user.email, name=user.name)
        async with self.runtime.transaction() as session:
            user = await session.get_one(t.User, user_id)
            await self._set_password(session, user, new_password, keep_session=session_id, reason="change")
        self._mail_password_changed(user)

    async def confirm_password(self, *, user_id: uuid.UUID, password: str, client: ClientInfo,
                               end_sessions: bool = False) -> None:
        """Re-authentication before something irreversible (deleting the account). With `end_sessions`, every
        session of the user ends with the confirmation, before the deletion is even queued."""
        user = await self.get_user(user_id)
        if not await self._password_checked_again(user, password, client, "password_confirm"):
            raise Forbidden("The password is not correct.", code="wrong_password")
        if end_sessions:
            async with self.runtime.transaction() as session:
                await session.execute(sa.update(t.Session).where(t.Session.user_id == user_id,
                                                                 t.Session.revoked_at.is_(None))
                                      .values(revoked_at=self.now()))

    async def _password_checked_again(self, user: t.User, password: str, client: ClientInfo,
                                      action: Literal["password_change", "password_confirm", "email_change"],
                                      ) -> bool:
        """A signed-in person's password, checked again: counted like sign-ins, against the same limits, so that a
        stolen session is no way to guess the password without limit. Too many failures: `too_many_attempts`."""
        key = email_key(user.email)
        now = self.now()
        async with self.runtime.sessionmaker() as session:
            throttled = await self._throttled(session, user, key, client, now)
        if not throttled and await self.hasher.verify_async(user.password_hash, password):
            return True
        async with self.runtime.transaction() as session:
            self._audit(session, now, user, key, client, f"{'throttled' if throttled else 'failed'}_{action}")
        if throttled:
            raise too_many_attempts("password checks")
        return False

    # --- helpers -------------------------------------------------------------------------------

    async def _set_password(self, session: AsyncSession, user: t.User, password: str,
                            keep_session: uuid.UUID | None, reason: Literal["change", "reset"]) -> None:
        now = self.now()
        user.password_hash = await self.hasher.hash_async(password)
        user.password_changed_at = now
        revoke = sa.update(t.Session).where(t.Session.user_id == user.id, t.Session.revoked_at.is_(None))
        if keep_session is not None:
            revoke = revoke.where(t.Session.id != keep_session)
        await session.execute(revoke.values(revoked_at=now))
        # A pending email change ends too: the notice of one tells its owner a new password cancels it.
        await self._end_links(session, user.id, (RESET, EMAIL_CHANGE))
        await self.runtime.outbox.add(session, UserPasswordChanged(user_id=user.id, reason=reason))

    async def _open_session(self, session: AsyncSession, user: t.User, client: ClientInfo) -> str:
        token = new_token()
        now = self.now()
        session.add(t.Session(
            id=uuid.uuid4(), user_id=user.id, token_hash=token_hash(token), ip=client.ip,
            user_agent=client.user_agent, created_at=now, last_seen_at=now,
            expires_at=now + timedelta(seconds=self.settings.session_absolute_lifetime_seconds)))
        return token

    async def _issue_email_token(self, session: AsyncSession, user: t.User, purpose: str,
                                 token: str | None = None, *, email: str | None = None) -> str:
        token = token or new_token()
        now = self.now()
        lifetime = (self.settings.reset_token_lifetime_seconds if purpose == RESET
                    else self.settings.verification_token_lifetime_seconds)
        session.add(t.EmailToken(id=uuid.uuid4(), user_id=user.id, purpose=purpose, token_hash=token_hash(token),
                                 created_at=now, expires_at=now + timedelta(seconds=lifetime), email=email))
        return token

    async def _consume_email_token(self, session: AsyncSession, token: str,
                                   purposes: tuple[str, ...]) -> tuple[t.EmailToken, t.User]:
        now = self.now()
        row = (await session.execute(
            sa.select(t.EmailToken, t.User).join(t.User, t.User.id == t.EmailToken.user_id)
            .where(t.EmailToken.token_hash == token_hash(token), t.EmailToken.purpose.in_(purposes))
            .with_for_update(of=(t.EmailToken, t.User))
        )).first()
        if row is None:
            raise invalid_link()
        record, user = row
        if record.used_at is not None or record.expires_at <= now:
            raise invalid_link()
        record.used_at = now
        return record, user

    def _mail_verification(self, user: t.User, token: str) -> None:
        self.mailer.send_later(Mail(
            to=user.email, subject="Confirm your email for Postifys",
            text=f"{greeting(user)}\n\nWelcome to Postifys. Confirm that this is your email address to start "
                 "connecting accounts and publishing. The link works once, for 24 hours.",
            link=f"{self.settings.public_url}/verify-email#token={token}", link_label="Confirm my email"))

    def _mail_email_confirmation(self, new_email: str, token: str) -> None:
        # Not greeted by name: whoever typed this address may not be its owner.
        self.mailer.send_later(Mail(
            to=new_email, subject="Confirm your new email address for Postifys",
            text="Hello,\n\nSomeone signed in to Postifys asked to use this address for their account. If it was "
                 "you, confirm it: the link works once, for 24 hours, and your account uses this address from "
                 "then on. If it was not you, ignore this message and nothing changes.",
            link=f"{self.settings.public_url}/verify-email#token={token}", link_label="Confirm my new address"))

    def _mail_email_change_notice(self, user: t.User, new_email: str) -> None:
        self.mailer.send_later(Mail(
            to=user.email, subject="Your Postifys email address is about to change",
            text=f"{greeting(user)}\n\nSomeone signed in to your Postifys account asked to change its email "
                 f"address to {masked(new_email)}. Nothing changes until the new address is confirmed from the "
                 "mail sent to it, and until then this address stays the account's.\n\nIf it was you, there is "
                 "nothing to do here. If it was not, reset your password from the sign-in page now: a new password "
                 "cancels the change and signs out every session. Then check the sessions listed in your "
                 "security settings."))

    def _mail_email_changed(self, user: t.User, old_email: str) -> None:
        self.mailer.send_later(Mail(
            to=old_email, subject="Your Postifys email address was changed",
            text=f"{greeting(user)}\n\nThe email address of your Postifys account was just changed to the new "
                 "address, which was confirmed from the mail sent to it. Mail from Postifys goes there from now "
                 "on, and links sent here before no longer work.\n\nIf this was not you, someone who knew your "
                 "password has changed it: write to info@postifys.com from this address, and we will help you "
                 "get the account back."))

    def _mail_password_changed(self, user: t.User) -> None:
        self.mailer.send_later(Mail(
            to=user.email, subject="Your Postifys password was changed",
            text=f"{greeting(user)}\n\nThe password of your Postifys account was just changed, and every other "
                 "signed-in session was signed out. If this was not you, reset your password now.",
            link=f"{self.settings.public_url}/reset-password", link_label="Reset my password"))

    def _audit(self, session: AsyncSession, now: datetime, user: t.User | None, key: str, client: ClientInfo,
               outcome: str) -> None:
        session.add(t.SignInAttempt(at=now, user_id=user.id if user else None, email_key=key, ip=client.ip,
                                    user_agent=client.user_agent, outcome=outcome))

    async def _throttled(self, session: AsyncSession, user: t.User | None, key: str, client: ClientInfo,
                         now: datetime) -> bool:
        """Whether the address or the account has failed too often in the last hour to check a password again."""
        if client.ip and await self._failures(session, t.SignInAttempt.ip == client.ip, now - HOUR) \
                >= self.settings.failed_sign_ins_per_ip_per_hour:
            return True
        # A completed reset starts the count afresh: the lock never outlives the owner's proof.
        since = max(now - HOUR, user.password_changed_at) if user else now - HOUR
        return await self._failures(session, t.SignInAttempt.email_key == key, since) \
            >= self.settings.failed_sign_ins_per_account_per_hour

    async def _failures(self, session: AsyncSession, condition: sa.ColumnElement[bool], since: datetime) -> int:
        return await session.scalar(
            sa.select(sa.func.count()).select_from(t.SignInAttempt)
            .where(condition, t.SignInAttempt.at > since,
                   t.SignInAttempt.outcome.in_(("failed", "failed_password_change", "failed_password_confirm",
                                                "failed_email_change")))) or 0

    async def _under_limit(self, session: AsyncSession, key: str, limit: int) -> bool:
        now = self.now()
        count = await session.scalar(sa.select(sa.func.count()).select_from(t.RateLimitHit)
                                     .where(t.RateLimitHit.key == key, t.RateLimitHit.at > now - HOUR)) or 0
        if count >= limit:
            return False
        session.add(t.RateLimitHit(key=key, at=now))
        return True

    async def _limit(self, session: AsyncSession, key: str, limit: int) -> None:
        if not await self._under_limit(session, key, limit):
            raise TooManyRequests("Too many requests from your network. Try again later.",
                                  headers={"Retry-After": "3600"})
