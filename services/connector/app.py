from __future__ import annotations

import httpx
import structlog
from fastapi import FastAPI

from services.connector import tables
from services.connector.api import build_routers
from services.connector.handlers import subscriptions
from services.connector.retention import retention_rules
from services.connector.service import ConnectorService, build_providers
from services.connector.settings import ConnectorSettings
from services.connector.tokens import TokenStore
from services.connector.vault import Vault
from shared.http.service import create_service_app
from shared.retention import keep_purging
from shared.runtime import ServiceRuntime, repeat

log = structlog.get_logger()


async def check_due_accounts(service: ConnectorService) -> None:
    for account_id in await service.accounts_due_for_check():
        await service.check(account_id)


def create_app(settings: ConnectorSettings | None = None) -> FastAPI:
    settings = settings or ConnectorSettings()
    runtime = ServiceRuntime(settings, tables.Base.metadata, subscriptions)
    http = httpx.AsyncClient(timeout=httpx.Timeout(settings.platform_timeout_seconds, connect=5),
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    service = ConnectorService(runtime, settings, build_providers(http, settings),
                               TokenStore(Vault(settings.vault_keys.get_secret_value())))
    runtime.provide(service)
    runtime.in_background(lambda: repeat(max(1.0, settings.token_check_interval_seconds / 10),
                                         lambda: check_due_accounts(service), "Token check round failed"))
    keep_purging(runtime, retention_rules(settings), settings.retention_interval_seconds)
    runtime.on_shutdown(http.aclose)
    return create_service_app(runtime, routers=build_routers(service))
