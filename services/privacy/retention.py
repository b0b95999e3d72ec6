"""What the privacy service keeps only for a while: the Deauthorize callbacks taken, which matter only while
Meta's signature on them would still be accepted (deletion requests themselves are the record, kept)."""

from __future__ import annotations

from datetime import timedelta

from services.privacy.settings import PrivacySettings
from services.privacy.signed_request import FUTURE_SKEW_SECONDS
from services.privacy.tables import MetaDeauthorization
from shared.retention import RetentionRule, older_than


def retention_rules(settings: PrivacySettings) -> list[RetentionRule]:
    replayable = timedelta(seconds=settings.meta_signed_request_max_age_seconds + FUTURE_SKEW_SECONDS)
    return [RetentionRule("meta_deauthorizations", MetaDeauthorization,
                          older_than(MetaDeauthorization.received_at, replayable + timedelta(days=1)))]
