from __future__ import annotations

from fastapi import FastAPI

from services.identity import tables
from services.identity.api import build_routers
from services.identity.mailer import Mailer
from services.identity.notifications import notification_handlers
from services.identity.service import IdentityService
from services.identity.settings import IdentitySettings
from shared.runtime import ServiceRuntime, create_service_app


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    mailer = Mailer(settings.smtp_url or "smtp://127.0.0.1:8025", settings.mail_from)
    runtime = ServiceRuntime(settings, tables.Base.metadata,
                             handlers=notification_handlers(mailer, settings.public_url))
    service = IdentityService(runtime, settings, mailer)
    return create_service_app(runtime, routers=build_routers(service))
