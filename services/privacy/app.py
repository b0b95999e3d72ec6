from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from services.privacy import tables
from services.privacy.api import build_routers
from services.privacy.export import export_http_client
from services.privacy.export_api import build_export_router
from services.privacy.handlers import privacy_handlers
from services.privacy.service import PrivacyService
from services.privacy.settings import PrivacySettings
from shared.runtime import ServiceRuntime, create_service_app

log = structlog.get_logger()


async def keep_deletions_moving(service: PrivacyService, interval: float) -> None:
    while True:
        try:
            await service.resend_stalled()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Deletion check round failed")
        await asyncio.sleep(interval)


def create_app(settings: PrivacySettings | None = None) -> FastAPI:
    settings = settings or PrivacySettings()
    runtime = ServiceRuntime(settings, tables.Base.metadata)
    service = PrivacyService(runtime, settings)
    runtime.bus.handlers = privacy_handlers(service)
    clients: dict[str, httpx.AsyncClient] = {}

    def http() -> httpx.AsyncClient:
        return clients["http"]

    async def deletion_requests_for(user_id: uuid.UUID) -> list[dict[str, Any]]:
        return [{"id": str(r.id), "confirmation_code": r.confirmation_code, "scope": r.scope, "status": r.status,
                 "requested_at": r.requested_at.isoformat(),
                 "completed_at": r.completed_at.isoformat() if r.completed_at else None}
                for r in await service.for_user(user_id)]

    export = build_export_router(http, settings, deletion_requests_for)
    app = create_service_app(runtime, routers=[export, *build_routers(service, http)])

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with runtime.lifespan(app_), export_http_client() as client:
            clients["http"] = client
            runtime.spawn(keep_deletions_moving(service, settings.erasure_check_seconds))
            yield

    app.router.lifespan_context = lifespan
    return app
