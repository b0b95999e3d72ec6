"""What the webhooks service keeps, and for how long: raw deliveries, for inspection and replay."""

from __future__ import annotations

from datetime import timedelta

from services.webhooks.settings import WebhooksSettings
from services.webhooks.tables import Delivery
from shared.retention import RetentionRule, older_than


def retention_rules(settings: WebhooksSettings) -> list[RetentionRule]:
    return [RetentionRule("webhook_deliveries", Delivery,
                          older_than(Delivery.received_at, timedelta(days=settings.retention_webhook_body_days)))]
