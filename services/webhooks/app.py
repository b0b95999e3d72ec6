from __future__ import annotations

from fastapi import FastAPI

from services.webhooks import tables
from services.webhooks.api import build_routers
from services.webhooks.handlers import subscriptions
from services.webhooks.retention import retention_rules
from services.webhooks.service import WebhookService
from services.webhooks.settings import WebhooksSettings
from shared.http.service import create_service_app
from shared.retention import keep_purging
from shared.runtime import ServiceRuntime

# Meta batches up to 1,000 updates in one delivery.
MAX_WEBHOOK_BODY = 1024 * 1024


def create_app(settings: WebhooksSettings | None = None) -> FastAPI:
    settings = settings or WebhooksSettings()
    runtime = ServiceRuntime(settings, tables.Base.metadata, subscriptions)
    keep_purging(runtime, retention_rules(settings), settings.retention_interval_seconds)
    return create_service_app(runtime, routers=build_routers(WebhookService(runtime, settings)),
                             max_body=MAX_WEBHOOK_BODY)
