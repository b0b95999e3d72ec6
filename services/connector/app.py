from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import structlog
from fastapi import FastAPI

from services.connector import tables
from services.connector.api import build_routers
from services.connector.erasure import erasure_handlers
from services.connector.handlers import webhook_handlers
from services.connector.retention import retention_rules
from services.connector.service import ConnectorService, build_providers
from services.connector.settings import ConnectorSettings
from services.connector.tokens import TokenStore
from services.connector.vault import Vault
from shared.retention import run_retention
from shared.runtime import ServiceRuntime, create_service_app

log = structlog.get_logger()


async def keep_tokens_fresh(service: ConnectorService) -> None:
    interval = max(1.0, service.settings.token_check_interval_seconds / 10)
    while True:
        try:
            for account_id in await service.accounts_due_for_check():
                await service.check(account_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Token check round failed")
        await asyncio.sleep(interval)


def create_app(settings: ConnectorSettings | None = None) -> FastAPI:
    settings = settings or ConnectorSettings()
    runtime = ServiceRuntime(settings, tables.Base.metadata)
    http = httpx.AsyncClient(timeout=httpx.Timeout(settings.platform_timeout_seconds, connect=5),
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    service = ConnectorService(runtime, settings, build_providers(http, settings),
                               TokenStore(Vault(settings.vault_keys.get_secret_value())))
    runtime.bus.handlers = {**webhook_handlers(service), **erasure_handlers(service)}
    app = create_service_app(runtime, routers=build_routers(service))

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with runtime.lifespan(app_):
            runtime.spawn(keep_tokens_fresh(service))
            runtime.spawn(run_retention(runtime, retention_rules(settings), settings.retention_interval_seconds))
            try:
                yield
            finally:
                await http.aclose()

    app.router.lifespan_context = lifespan
    return app
