"""The one public HTTP entry: sessions, CSRF defence, rate limits, routing, and the web pages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.event_docs import event_docs_router
from services.gateway.metrics import metrics_listener
from services.gateway.openapi import merged_openapi
from services.gateway.ratelimit import PathLimits, RateLimiter
from services.gateway.readiness import CachedReadiness
from services.gateway.routing import (
    CROSS_SITE_ALLOWED,
    SERVICES,
    UPLOAD_MAX_BYTES,
    needs_session,
    service_for,
    service_url,
    streams_body,
)
from services.gateway.security import client_address, is_cross_site
from services.gateway.settings import GatewaySettings
from services.gateway.web.context import Upstream, content_security_policy
from services.gateway.web.deps import WebDeps
from services.gateway.web.error_pages import not_found_page, rate_limited_page, wants_page
from services.gateway.web.library import UPLOAD_PAGE
from services.gateway.web.routes import web_router
from shared.errors import PostifysError, error_body
from shared.http.app import create_http_app
from shared.internal import (
    CLIENT_IP_HEADER,
    EMAIL_VERIFIED_HEADER,
    GATEWAY_ONLY_HEADERS,
    REQUEST_ID_HEADER,
    SESSION_HEADER,
    USER_HEADER,
)
from shared.settings import refuse_misconfigured

log = structlog.get_logger()


class IdentityUnavailable(PostifysError):
    status_code = 503
    code = "service_unavailable"
    message = "Signing in is unavailable for a moment. Try again shortly."
STATIC = Path(__file__).parent / "static"
PAGE_UPLOAD_MAX_BYTES = 1024 ** 3 + 1024 * 1024
# The last chunk of an upload answers once the media service has hashed and probed the whole file.
UPLOAD_TIMEOUT = httpx.Timeout(300, connect=3)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                        "proxy-authorization", "proxy-authenticate", "host", "content-length", "cookie",
                        "date", "server"})


def create_app(given: GatewaySettings | None = None) -> FastAPI:
    settings = given or GatewaySettings()
    refuse_misconfigured(settings)
    signer = settings.internal_signer()
    streaming_auth = signer.streaming_auth()
    limits = PathLimits(
        people=RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst),
        platforms=RateLimiter(per_minute=settings.webhook_rate_limit_per_minute,
                              burst=settings.webhook_rate_limit_burst),
        platform_prefixes=CROSS_SITE_ALLOWED)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(settings.upstream_timeout_seconds, connect=3),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            auth=signer.auth(), follow_redirects=False,
        ) as client, metrics_listener(settings.metrics_host, settings.metrics_listen_port):
            state["client"] = client
            state["upstream"] = Upstream(client, {s: service_url(settings, s) for s in SERVICES})
            yield

    def client() -> httpx.AsyncClient:
        return state["client"]  # type: ignore[no-any-return]

    async def ready(service: str) -> bool:
        try:
            return (await client().get(f"{service_url(settings, service)}/readyz", timeout=3)).status_code == 200
        except httpx.HTTPError:
            return False

    async def readiness() -> dict[str, bool]:
        return dict(zip(SERVICES, await asyncio.gather(*(ready(s) for s in SERVICES)), strict=True))

    security_headers = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                        ("Referrer-Policy", "same-origin"),
                        ("Content-Security-Policy", content_security_policy())]
    if settings.is_production:
        security_headers.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))

    def refusal(request: Request, address: str) -> Response | None:
        path = request.url.path
        allowed, retry_after = limits.allow(path, address)
        if not allowed and wants_page(request):
            return rate_limited_page(request, max(1, round(retry_after)))
        if not allowed:
            return JSONResponse(error_body("rate_limited", "Too many requests. Slow down and try again."),
                                status_code=429, headers={"Retry-After": str(max(1, round(retry_after)))})
        if not path.startswith(CROSS_SITE_ALLOWED) and is_cross_site(
                request.method, request.headers.get("origin"), request.headers.get("sec-fetch-site"),
                settings.public_origin):
            return JSONResponse(error_body("cross_site_request", "Cross-site requests are refused."), status_code=403)
        return None

    class Guard:
        """Rate limits, cross-site refusal and security headers; plain ASGI, so the proxied body is not copied."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            request = Request(scope)
            address = client_address(request.client.host if request.client else None,
                                     request.headers.get("x-forwarded-for"), settings.trusted_proxies)
            request.state.client_ip = address
            refused = refusal(request, address)
            api = request.url.path.startswith("/api/")

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    for name, value in security_headers:
                        headers.setdefault(name, value)
                    if api:
                        headers.setdefault("Cache-Control", "no-store")
                await send(message)
            await (refused or self.app)(scope, receive, with_headers)

    def max_body(method: str, path: str) -> int:
        """The services hold their own, smaller limits; this one lets Meta's batched webhooks (and uploads) through."""
        if streams_body(method, path):
            return UPLOAD_MAX_BYTES
        # The page's form is parsed here (its files spooled to disk) before the media service sees it: at most one
        # video of the media service's default limit, so a few at once cannot fill the gateway's disk.
        return PAGE_UPLOAD_MAX_BYTES if method == "POST" and path == UPLOAD_PAGE else 1024 * 1024

    app = create_http_app(title="Postifys", readiness=CachedReadiness(readiness), lifespan=lifespan, docs=False,
                          middleware=(Guard,), max_body=max_body, metrics=False)

    async def resolve_session(request: Request) -> dict[str, Any] | None:
        token = request.cookies.get(settings.session_cookie_name)
        if not token or len(token) > 256:
            return None
        try:
            response = await client().post(f"{settings.identity_url}/internal/sessions/resolve",
                                           json={"token": token}, headers={REQUEST_ID_HEADER: request.state.request_id})
        except httpx.HTTPError as exc:
            log.warning("Identity unreachable", error=type(exc).__name__)
            raise IdentityUnavailable() from None
        if response.status_code >= 500:  # identity could not tell: that is no reason to sign the person out
            log.warning("Identity could not resolve the session", status=response.status_code)
            raise IdentityUnavailable()
        return response.json() if response.status_code == 200 else None

    async def forward(request: Request, service: str) -> Response:
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() not in GATEWAY_ONLY_HEADERS}
        headers[REQUEST_ID_HEADER] = request.state.request_id
        headers[CLIENT_IP_HEADER] = request.state.client_ip
        session = await resolve_session(request)
        if session is not None:
            headers[USER_HEADER] = session["user_id"]
            headers[SESSION_HEADER] = session["session_id"]
            headers[EMAIL_VERIFIED_HEADER] = "1" if session["email_verified"] else "0"
        elif needs_session(request.url.path):
            return JSONResponse(error_body("unauthorized", "Sign in to continue."), status_code=401)
        # The raw path and query go on exactly as received, still percent-encoded.
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        query = request.scope.get("query_string", b"").decode("latin-1")
        url = f"{service_url(settings, service)}{raw_path}" + (f"?{query}" if query else "")
        # Uploads stream through as they arrive (signed as streamed), and media files stream back: neither is
        # ever whole in the gateway's memory.
        streamed = streams_body(request.method, request.url.path)
        content: Any = request.stream() if streamed else await request.body()
        if streamed and request.headers.get("content-length"):
            headers["content-length"] = request.headers["content-length"]
        try:
            outgoing = client().build_request(request.method, url, content=content, headers=headers,
                                              timeout=UPLOAD_TIMEOUT if streamed else httpx.USE_CLIENT_DEFAULT)
            upstream = await client().send(outgoing, stream=True,
                                           auth=streaming_auth if streamed else httpx.USE_CLIENT_DEFAULT)
        except httpx.InvalidURL:
            return JSONResponse(error_body("bad_request", "The request URL is malformed."), status_code=400)
        except ClientDisconnect:
            return Response(status_code=499)  # nobody is there to read it; the service keeps what arrived
        except httpx.HTTPError as exc:
            log.warning("Upstream unreachable", service=service, error=type(exc).__name__)
            return JSONResponse(error_body("service_unavailable", f"The {service} service is unavailable. "
                                           "Try again shortly."), status_code=503, headers={"Retry-After": "5"})
        passed = [(name, value) for name, value in upstream.headers.multi_items()
                  if name.lower() not in HOP_BY_HOP and name.lower() not in ("content-encoding", "x-request-id")]
        if service == "media" and request.method in ("GET", "HEAD"):
            response: Response = StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code,
                                                   background=BackgroundTask(upstream.aclose))
            kept = [("content-length", v) for n, v in upstream.headers.multi_items() if n.lower() == "content-length"]
            passed += kept + [(n, v) for n, v in upstream.headers.multi_items() if n.lower() == "content-encoding"]
        else:
            try:
                body = await upstream.aread()
            except httpx.HTTPError as exc:
                log.warning("Upstream answer cut short", service=service, error=type(exc).__name__)
                return JSONResponse(error_body("service_unavailable", f"The {service} service is unavailable. "
                                               "Try again shortly."), status_code=503, headers={"Retry-After": "5"})
            finally:
                await upstream.aclose()
            response = Response(content=body, status_code=upstream.status_code)
        for name, value in passed:
            response.headers.append(name, value)
        return response

    app.include_router(web_router(WebDeps(settings=settings, upstream=lambda: state["upstream"],
                                          resolve_session=resolve_session)))
    app.include_router(event_docs_router(settings))

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        if "openapi" not in state:
            document = await merged_openapi(client(), settings)
            if not document["paths"]:
                return JSONResponse(error_body("service_unavailable", "The API description is not ready yet."),
                                    status_code=503)
            state["openapi"] = document
        return JSONResponse(state["openapi"])

    assets = static_assets()

    # Browsers ask for it on pages that name no icon (the development mailbox's, a JSON answer opened in a tab).
    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return FileResponse(STATIC / "img" / "logo.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/{name:path}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in assets:
            return JSONResponse(error_body("not_found", "Not found."), status_code=404)
        return FileResponse(assets[name], headers={"Cache-Control": "no-cache"})

    if settings.serves_dev_mailbox:
        @app.get("/dev/mailbox", include_in_schema=False)
        async def dev_mailbox() -> Response:
            try:
                upstream = await client().get(f"{settings.devmail_url}/", timeout=3)
            except httpx.HTTPError:
                return PlainTextResponse("The development mailbox is not running.", status_code=503)
            return Response(upstream.content, media_type=upstream.headers.get("content-type"))

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def route(request: Request, path: str) -> Response:
        # Dot segments would be resolved on the way out and could climb into a service's /internal routes.
        segments = unquote(request.url.path).split("/")
        if any(s in (".", "..") for s in segments) or "internal" in segments[:2]:
            return JSONResponse(error_body("bad_request", "The request path is not allowed."), status_code=400)
        service = service_for(request.url.path)
        if service is None and wants_page(request):
            return not_found_page(request)
        if service is None:
            return JSONResponse(error_body("not_found", "Not found."), status_code=404)
        return await forward(request, service)

    return app


def static_assets() -> dict[str, Path]:
    """Every file the browser may fetch below /static/, found once: a request can only name one of them."""
    return {path.relative_to(STATIC).as_posix(): path for path in STATIC.rglob("*")
            if path.is_file() and path.suffix in (".js", ".css", ".svg", ".png", ".woff2")}

