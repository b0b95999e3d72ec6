from __future__ import annotations

from fastapi import FastAPI

from services.privacy import tables
from services.privacy.handlers import HANDLERS
from services.privacy.settings import PrivacySettings
from shared.runtime import ServiceRuntime, create_service_app


def create_app(settings: PrivacySettings | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or PrivacySettings(), tables.Base.metadata, handlers=HANDLERS)
    return create_service_app(runtime)
