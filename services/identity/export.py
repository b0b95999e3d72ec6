"""Identity's part of a user's data export: profile (with the notification choices and an email change waiting),
every session, and the sign-in history, in the shape shared.contracts.export names (never a token, a token hash,
a password hash or an email key)."""

from __future__ import annotations

import uuid
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity import tables as t
from services.identity.preferences import NotificationChoices, choices_of
from services.identity.service import EMAIL_CHANGE
from shared.contracts.export import (
    IdentityExport,
    NotificationChoicesExport,
    ProfileExport,
    SessionExport,
    SignInExport,
)
from shared.errors import NotFound


async def export_user(sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> IdentityExport:
    async with sessionmaker() as session:
        user = await session.get(t.User, user_id)
        if user is None:
            raise NotFound("No such user.", code="user_not_found")
        sessions = await session.scalars(sa.select(t.Session).where(t.Session.user_id == user_id)
                                         .order_by(t.Session.created_at, t.Session.id))
        attempts = await session.scalars(sa.select(t.SignInAttempt).where(t.SignInAttempt.user_id == user_id)
                                         .order_by(t.SignInAttempt.at, t.SignInAttempt.id))
        pending_email = await session.scalar(
            sa.select(t.EmailToken.email).where(t.EmailToken.user_id == user_id, t.EmailToken.purpose == EMAIL_CHANGE,
                                                t.EmailToken.used_at.is_(None),
                                                t.EmailToken.expires_at > sa.func.now())
            .order_by(t.EmailToken.created_at.desc()).limit(1))
        choices = await choices_of(session, user_id)
        return IdentityExport(profile=profile_of(user, pending_email, choices),
                              sessions=[session_of(s) for s in sessions],
                              sign_in_history=[sign_in_of(a) for a in attempts])


def profile_of(user: t.User, pending_email: str | None, choices: NotificationChoices) -> ProfileExport:
    return ProfileExport(id=user.id, name=user.name, email=user.email,
                         email_verified=user.email_verified_at is not None,
                         email_verified_at=user.email_verified_at, password_changed_at=user.password_changed_at,
                         created_at=user.created_at, timezone=user.timezone, pending_email=pending_email,
                         notifications=NotificationChoicesExport(**asdict(choices)))


def session_of(record: t.Session) -> SessionExport:
    return SessionExport(id=record.id, created_at=record.created_at, last_seen_at=record.last_seen_at,
                         expires_at=record.expires_at, revoked_at=record.revoked_at, ip=text_or_none(record.ip),
                         user_agent=record.user_agent)


def sign_in_of(attempt: t.SignInAttempt) -> SignInExport:
    return SignInExport(at=attempt.at, ip=text_or_none(attempt.ip), user_agent=attempt.user_agent,
                        outcome=attempt.outcome)


def text_or_none(address: object) -> str | None:
    # asyncpg hands INET columns back as ipaddress objects.
    return str(address) if address is not None else None
