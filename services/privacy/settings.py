from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import InstagramAppSecret, MetaAppSecret, ServiceSettings


class PrivacySettings(ServiceSettings, MetaAppSecret, InstagramAppSecret):
    service_name: ClassVar[str] = "privacy"
    # A phase not answered within this long is sent again (the services erase idempotently).
    erasure_retry_seconds: float = 600
    erasure_check_seconds: float = 30
    # A request still running after this many days raises the alert (GDPR gives a month in all).
    erasure_alert_days: int = 7
    # Meta's callbacks: a signed_request issued longer ago than this is refused (its replay is worth nothing after).
    meta_signed_request_max_age_seconds: int = Field(3600, ge=60)
