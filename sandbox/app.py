"""The sandbox as one FastAPI app: every platform host under its own path prefix, plus /_sandbox and /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sandbox import (
    consent,
    control,
    facebook,
    facebook_publishing,
    graph_nodes,
    inspection,
    instagram,
    instagram_publishing,
    media_host,
    tiktok,
    tiktok_publishing,
    webhook_delivery,
)
from sandbox.errors import install_error_handlers
from sandbox.fetch import MediaFetcher
from sandbox.state import AppCredentials, SandboxState
from sandbox.web import PlatformMiddleware
from sandbox.webhook_delivery import WebhookSender
from shared.http.app import RequestContextMiddleware
from shared.settings import InstagramAppSecret, MetaAppSecret, PostifysSettings, TikTokClientSecret

# TikTok upload chunks may reach 128 MB; the sandbox must accept what the platform accepts.
MAX_BODY_BYTES = 256 * 1024 * 1024


class SandboxSettings(PostifysSettings, MetaAppSecret, InstagramAppSecret, TikTokClientSecret):
    """The sandbox plays the platforms, so it knows each app's secret (the sandbox's own values by default)."""


def credentials_from(settings: SandboxSettings) -> AppCredentials:
    return AppCredentials(
        meta_app_id=settings.meta_app_id,
        meta_app_secret=settings.meta_app_secret.get_secret_value(),
        instagram_app_id=settings.instagram_app_id,
        instagram_app_secret=settings.instagram_app_secret.get_secret_value(),
        tiktok_client_key=settings.tiktok_client_key,
        tiktok_client_secret=settings.tiktok_client_secret.get_secret_value(),
    )


def create_app(settings: SandboxSettings) -> FastAPI:
    state = SandboxState(credentials_from(settings), public_url=settings.sandbox_url,
                         webhook_base_url=settings.public_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.fetcher = MediaFetcher()
        app.state.webhook_sender = sender = WebhookSender(state)
        sender.start()
        try:
            yield
        finally:
            await sender.aclose()
            await app.state.fetcher.aclose()

    app = FastAPI(title="Postifys platform sandbox", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.sandbox = state
    install_error_handlers(app)
    # Routes with a fixed first segment (/debug_token, /access_token) come before the catch-all GET /{node}.
    for router in (consent.router, facebook.oauth_router, facebook.graph_router, facebook_publishing.router,
                   instagram.login_router, instagram.graph_router, instagram_publishing.facebook_router,
                   instagram_publishing.instagram_router, graph_nodes.facebook_router, graph_nodes.instagram_router,
                   tiktok.oauth_router, tiktok.api_router, tiktok_publishing.api_router,
                   tiktok_publishing.upload_router, media_host.router, inspection.router, control.router,
                   webhook_delivery.router):
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # deploy.system waits on /readyz for every process it starts; with nothing to connect to, ready means up.
    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    app.add_middleware(PlatformMiddleware, state=state)
    app.add_middleware(RequestContextMiddleware, max_body=MAX_BODY_BYTES)
    return app
