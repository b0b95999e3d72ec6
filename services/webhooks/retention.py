"""What the webhooks service keeps, and for how long: raw deliveries, for inspection and replay, and each
delivery's dedupe key, longer than the platforms redeliver and never shorter than its body."""

from __future__ import annotations

from datetime import timedelta

from services.webhooks.settings import WebhooksSettings
from services.webhooks.tables import Delivery, DeliveryKey
from shared.retention import RetentionRule, older_than


def retention_rules(settings: WebhooksSettings) -> list[RetentionRule]:
    bodies = timedelta(days=settings.retention_webhook_body_days)
    keys = max(bodies, timedelta(days=settings.retention_webhook_dedupe_days))
    return [RetentionRule("webhook_deliveries", Delivery, older_than(Delivery.received_at, bodies)),
            RetentionRule("webhook_dedupe_keys", DeliveryKey, older_than(DeliveryKey.first_seen_at, keys))]
