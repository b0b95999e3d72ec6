"""What the connector keeps, and for how long: OAuth states only while they can complete a connection."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.connector.settings import ConnectorSettings
from services.connector.tables import OAuthState
from shared.retention import RetentionRule


def unusable_oauth_state(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(OAuthState.used_at.is_not(None), OAuthState.expires_at <= now)


def retention_rules(settings: ConnectorSettings) -> list[RetentionRule]:
    return [RetentionRule("oauth_states", OAuthState, unusable_oauth_state)]
