"""A service's FastAPI app and how a process serves it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn
from fastapi import APIRouter, Depends, FastAPI

from shared.http.app import MAX_BODY_BYTES, BodyLimit, create_http_app
from shared.http.guard import internal_guard, refuse_unnamed_internal_routes
from shared.internal import Verifier, parse_public_keys
from shared.logging import configure_logging
from shared.settings import PostifysSettings, ServiceSettings

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime


def create_service_app(runtime: ServiceRuntime, *, routers: list[APIRouter] | tuple[APIRouter, ...] = (),
                       max_body: BodyLimit = MAX_BODY_BYTES) -> FastAPI:
    """Health, metrics, the error shape, and the service's routers behind signed internal calls."""
    app = create_http_app(title=f"Postifys {runtime.service}", readiness=runtime.readiness, lifespan=runtime.lifespan,
                          max_body=max_body)
    verifier = Verifier(runtime.service, parse_public_keys(runtime.settings.caller_public_keys()))
    for router in routers:
        app.include_router(router, dependencies=[Depends(internal_guard(verifier))])
    refuse_unnamed_internal_routes(app, runtime.service)
    app.state.runtime = runtime
    return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    configure_logging(service=settings.service_name, level=settings.log_level, json=json_logs(settings))
    # Idle connections stay open longer than any caller's pool keeps them (httpx: 5 s), so a caller never sends
    # a request on a connection this side is closing at that moment.
    config = uvicorn.Config(app, host=settings.host, port=settings.listen_port, log_config=None, access_log=False,
                            server_header=False, timeout_graceful_shutdown=5, timeout_keep_alive=75)
    # The port first, then the app: a taken port ends the process at once, before the broker connection starts
    # (whose reconnect loop would otherwise keep a failed process from ever exiting).
    uvicorn.Server(config).run(sockets=[config.bind_socket()])


def json_logs(settings: PostifysSettings) -> bool:
    return settings.log_format == "json" or (settings.log_format == "auto" and settings.env != "development")
