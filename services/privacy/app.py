from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from services.privacy import tables
from services.privacy.api import build_routers
from services.privacy.export import export_http_client
from services.privacy.export_api import build_export_router
from services.privacy.handlers import subscriptions
from services.privacy.retention import retention_rules
from services.privacy.service import PrivacyService
from services.privacy.settings import PrivacySettings
from shared.contracts.export import DeletionRequestExport
from shared.http.service import create_service_app
from shared.retention import keep_purging
from shared.runtime import ServiceRuntime, repeat


def create_app(settings: PrivacySettings | None = None) -> FastAPI:
    settings = settings or PrivacySettings()
    runtime = ServiceRuntime(settings, tables.Base.metadata, subscriptions)
    service = PrivacyService(runtime, settings)
    runtime.provide(service)
    http = export_http_client(settings.internal_signer().auth())
    runtime.on_shutdown(http.aclose)
    runtime.in_background(lambda: repeat(settings.erasure_check_seconds, service.resend_stalled,
                                         "Deletion check round failed"))
    keep_purging(runtime, retention_rules(settings), settings.retention_interval_seconds)

    async def deletion_requests_for(user_id: uuid.UUID) -> list[DeletionRequestExport]:
        return [DeletionRequestExport.model_validate(r, from_attributes=True) for r in await service.for_user(user_id)]

    def client() -> Any:
        return http

    routers = [build_export_router(client, settings, deletion_requests_for), *build_routers(service, client)]
    return create_service_app(runtime, routers=routers)
