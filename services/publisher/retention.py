"""What the publisher keeps, and for how long. Posts, targets and the other steps of their timelines stay."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from services.publisher import rules
from services.publisher.settings import PublisherSettings
from services.publisher.tables import EarlyOutcome, IdempotencyKey, PlatformCall, TargetEvent
from shared.retention import RetentionRule, older_than

# Rendered inline rather than bound, so that the planner can use the partial index ix_target_events_error_at.
HOLDS_PUBLISH_ERROR = sa.or_(TargetEvent.error_class.is_not(None),
                             TargetEvent.status == sa.literal(rules.FAILED, literal_execute=True))


def retention_rules(settings: PublisherSettings) -> list[RetentionRule]:
    old_event = older_than(TargetEvent.at, timedelta(days=settings.retention_publish_errors_days))

    def expired_publish_error(now: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(HOLDS_PUBLISH_ERROR, old_event(now))

    return [
        RetentionRule("publish_errors", TargetEvent, expired_publish_error),
        RetentionRule("platform_calls", PlatformCall,
                      older_than(PlatformCall.at, timedelta(days=settings.retention_platform_calls_days))),
        RetentionRule("early_outcomes", EarlyOutcome,
                      older_than(EarlyOutcome.received_at, timedelta(days=settings.retention_early_outcomes_days))),
        RetentionRule("idempotency_keys", IdempotencyKey,
                      older_than(IdempotencyKey.created_at, timedelta(days=settings.retention_idempotency_keys_days))),
    ]
