"""What identity keeps, and for how long: sessions and mailed links only while they work."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from services.identity import tables as t
from services.identity.settings import IdentitySettings
from shared.retention import RetentionRule, older_than


def retention_rules(settings: IdentitySettings) -> list[RetentionRule]:
    idle = timedelta(seconds=settings.session_idle_timeout_seconds)

    # The same tests the service applies when it resolves a session or consumes a link.
    def unusable_session(now: datetime) -> sa.ColumnElement[bool]:
        return sa.or_(t.Session.revoked_at.is_not(None), t.Session.expires_at <= now,
                      t.Session.last_seen_at <= now - idle)

    def unusable_email_token(now: datetime) -> sa.ColumnElement[bool]:
        return sa.or_(t.EmailToken.used_at.is_not(None), t.EmailToken.expires_at <= now)

    return [
        RetentionRule("sessions", t.Session, unusable_session),
        RetentionRule("email_tokens", t.EmailToken, unusable_email_token),
        RetentionRule("sign_in_attempts", t.SignInAttempt,
                      older_than(t.SignInAttempt.at, timedelta(days=settings.retention_sign_in_audit_days))),
        RetentionRule("rate_limit_hits", t.RateLimitHit,
                      older_than(t.RateLimitHit.at, timedelta(days=settings.retention_rate_limit_hits_days))),
    ]
