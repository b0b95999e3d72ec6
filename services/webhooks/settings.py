from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import MetaAppSecret, MetaWebhookVerifyToken, ServiceSettings, TikTokClientSecret


class WebhooksSettings(ServiceSettings, MetaAppSecret, TikTokClientSecret, MetaWebhookVerifyToken):
    service_name: ClassVar[str] = "webhooks"

    tiktok_signature_tolerance_seconds: int = 300
    # How long a delivery's dedupe key (a hash of its content) is kept, whatever happens to its body: a
    # redelivery within it is a duplicate. Meta retries for 36 hours, TikTok for 72 (signing each retry anew),
    # so at least 4 days; the purge also never drops a key before its body.
    retention_webhook_dedupe_days: int = Field(90, ge=4)
