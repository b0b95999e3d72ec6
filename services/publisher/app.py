from __future__ import annotations

from fastapi import FastAPI

from services.publisher import tables
from services.publisher.settings import PublisherSettings
from shared.runtime import ServiceRuntime, create_service_app


def create_app(settings: PublisherSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or PublisherSettings(), tables.Base.metadata)
    return create_service_app(runtime)
