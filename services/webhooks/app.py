from __future__ import annotations

from fastapi import FastAPI

from services.webhooks import tables
from services.webhooks.settings import WebhooksSettings
from shared.runtime import ServiceRuntime, create_service_app


def create_app(settings: WebhooksSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or WebhooksSettings(), tables.Base.metadata)
    return create_service_app(runtime)
