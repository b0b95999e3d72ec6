"""What the connector keeps, and for how long: OAuth states only while they can complete a connection; a
deletion's answer until the request completes (which removes it), or at most a GDPR month if that news is lost."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from services.connector.settings import ConnectorSettings
from services.connector.tables import ErasureAnswer, OAuthState
from shared.retention import RetentionRule, older_than

ERASURE_ANSWER_DAYS = 31


def unusable_oauth_state(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(OAuthState.used_at.is_not(None), OAuthState.expires_at <= now)


def retention_rules(settings: ConnectorSettings) -> list[RetentionRule]:
    return [RetentionRule("oauth_states", OAuthState, unusable_oauth_state),
            RetentionRule("erasure_answers", ErasureAnswer,
                          older_than(ErasureAnswer.answered_at, timedelta(days=ERASURE_ANSWER_DAYS)))]
