from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.publisher import tables
from services.publisher.api import build_router
from services.publisher.connector_client import ConnectorClient
from services.publisher.export import build_export_router
from services.publisher.handlers import subscriptions
from services.publisher.media_client import MediaClient
from services.publisher.media_use import build_media_use_router
from services.publisher.retention import retention_rules
from services.publisher.service import PostService, creation_quotas
from services.publisher.settings import PublisherSettings
from services.publisher.worker import Worker
from shared.http.service import create_service_app
from shared.retention import keep_purging
from shared.runtime import ServiceRuntime


def create_app(settings: PublisherSettings | None = None) -> FastAPI:
    settings = settings or PublisherSettings()
    http = httpx.AsyncClient(timeout=httpx.Timeout(settings.platform_timeout_seconds, connect=5),
                             limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
    runtime = ServiceRuntime(settings, tables.Base.metadata, subscriptions)
    signer = settings.internal_signer()
    connector = ConnectorClient(http, settings.connector_url, signer.auth())
    media = MediaClient(http, settings.media_url, signer.auth())
    worker = Worker(runtime, settings, connector, http, media)
    # Handlers and the API wake the worker, so nothing waits for its next poll.
    runtime.provide(worker)
    service = PostService(runtime, connector, media, worker.wake.set, creation_quotas(settings))
    runtime.in_background(worker.run_forever)
    keep_purging(runtime, retention_rules(settings), settings.retention_interval_seconds)
    runtime.on_shutdown(http.aclose)
    return create_service_app(runtime, routers=[build_router(service), build_export_router(runtime.sessionmaker),
                                                build_media_use_router(runtime.sessionmaker)])
