"""The FastAPI app every HTTP process is built on: request ids and logging, body limits, health and metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import error_body
from shared.http.errors import install_error_handlers
from shared.internal import REQUEST_ID_HEADER

log = structlog.get_logger()

MAX_BODY_BYTES = 64 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

HTTP_REQUESTS = Counter("postifys_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "postifys_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
# The most a request may send: one number, or one per request (method, path), for the few routes that take uploads.
BodyLimit = int | Callable[[str, str], int]


def _route_template(app: ASGIApp, scope: Scope) -> str:
    for route in getattr(app, "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "other"))
    return "unmatched"


class RequestContextMiddleware:
    """Gives each request an id (kept from the gateway when well-formed), binds it to every log line,
    enforces the body limit, records metrics and logs the request without its query string."""

    def __init__(self, app: ASGIApp, *, max_body: BodyLimit = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body if callable(max_body) else lambda _method, _path: max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get(REQUEST_ID_HEADER, "")
        if not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        route = _route_template(scope["app"], scope) if "app" in scope else scope["path"]

        max_body = self.max_body(scope["method"], scope["path"])
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            await _send_error(send, 413, "payload_too_large", "The request body is too large.", request_id)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id, correlation_id=request_id):
            try:
                await self.app(scope, limited_receive, send_with_id)
            except _BodyTooLarge:
                status = 413
                await _send_error(send, 413, "payload_too_large", "The request body is too large.", request_id)
            finally:
                elapsed = time.perf_counter() - started
                if route not in ("/healthz", "/readyz", "/metrics"):
                    HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
                    HTTP_LATENCY.labels(scope["method"], route).observe(elapsed)
                    log.info("Request handled", method=scope["method"], path=scope["path"], status=status,
                             duration_ms=round(elapsed * 1000, 1))


class _BodyTooLarge(Exception):
    pass


async def _send_error(send: Send, status: int, code: str, message: str, request_id: str) -> None:
    response = JSONResponse(error_body(code, message), status_code=status,
                            headers={"x-request-id": request_id})

    async def _receive() -> Message:
        return {"type": "http.disconnect"}

    await response({"type": "http"}, _receive, send)


def install_operational_routes(app: FastAPI, readiness: ReadinessCheck, *, metrics: bool = True) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status_code=200 if ready else 503)

    if not metrics:
        return

    @app.get("/metrics", include_in_schema=False)
    async def metrics_route() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_http_app(*, title: str, readiness: ReadinessCheck, lifespan: Any = None, docs: bool = True,
                    middleware: tuple[type, ...] = (), max_body: BodyLimit = MAX_BODY_BYTES,
                    metrics: bool = True) -> FastAPI:
    """`middleware` runs inside the request context, so its answers carry a request id and are logged. Without
    `metrics`, the process serves /metrics elsewhere (the gateway: on its internal listener)."""
    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json" if docs else None)
    install_error_handlers(app)
    install_operational_routes(app, readiness, metrics=metrics)
    for cls in middleware:
        app.add_middleware(cls)  # type: ignore[arg-type]
    app.add_middleware(RequestContextMiddleware, max_body=max_body)
    return app
