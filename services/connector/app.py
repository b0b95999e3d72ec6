from __future__ import annotations

from fastapi import FastAPI

from services.connector import tables
from services.connector.settings import ConnectorSettings
from shared.runtime import ServiceRuntime, create_service_app


def create_app(settings: ConnectorSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or ConnectorSettings(), tables.Base.metadata)
    return create_service_app(runtime)
