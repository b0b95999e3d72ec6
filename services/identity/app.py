from __future__ import annotations

from fastapi import FastAPI

from services.identity import tables
from services.identity.api import build_routers
from services.identity.handlers import subscriptions
from services.identity.mailer import Mailer
from services.identity.retention import retention_rules
from services.identity.service import IdentityService
from services.identity.settings import IdentitySettings
from shared.http.service import create_service_app
from shared.retention import keep_purging
from shared.runtime import ServiceRuntime


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    mailer = Mailer(settings.smtp_url or "smtp://127.0.0.1:8025", settings.mail_from)
    runtime = ServiceRuntime(settings, tables.Base.metadata, subscriptions)
    runtime.provide(mailer)
    service = IdentityService(runtime, settings, mailer)
    keep_purging(runtime, retention_rules(settings), settings.retention_interval_seconds)
    return create_service_app(runtime, routers=build_routers(service))
