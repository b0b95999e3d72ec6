"""What every platform host shares: reading parameters the way the platforms accept them, and the middleware that
records each request, strips Graph versions, acts out the faults a test installed, adds latency, injects transient
errors and reports Graph usage."""

from __future__ import annotations

import asyncio
import json
import random
import re
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.errors import (
    TRANSIENT_MESSAGE,
    GraphError,
    InstagramLoginError,
    TikTokApiError,
    graph_transient_error,
    tiktok_transient_error,
)
from sandbox.faults import FiredFault
from sandbox.state import Platform, RecordedRequest, SandboxState

HOSTS: dict[str, Platform] = {
    "facebook-www": "facebook",
    "facebook-graph": "facebook",
    "instagram-www": "instagram",
    "instagram-api": "instagram",
    "instagram-graph": "instagram",
    "tiktok-www": "tiktok",
    "tiktok-api": "tiktok",
    # Where FILE_UPLOAD upload_urls point (open-upload.tiktokapis.com).
    "tiktok-upload": "tiktok",
}
API_HOSTS = frozenset({"facebook-graph", "instagram-api", "instagram-graph", "tiktok-api", "tiktok-upload"})
GRAPH_HOSTS = frozenset({"facebook-graph", "instagram-graph"})
DIALOG_PATH_PREFIXES = ("/instagram-api/oauth/authorize",)
_VERSIONED_PATH = re.compile(r"^/(?P<host>facebook-www|facebook-graph|instagram-graph)/v\d+\.\d+(?P<rest>/.*)?$")
_FIELD_NAME = re.compile(r"\s*([A-Za-z0-9_]+)")
BUSINESS_USE_KEY = "business_use"
ORIGINAL_PATH_KEY = "original_path"
GRAPH_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"


def sandbox_state(request: Request) -> SandboxState:
    return cast(SandboxState, request.app.state.sandbox)


def _body_fields(body: bytes, content_type: str) -> list[tuple[str, str]]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    if content_type.startswith("application/json") and body:
        try:
            document = json.loads(body)
        except ValueError:
            return []
        if isinstance(document, dict):
            return [(key, value if isinstance(value, str) else json.dumps(value)) for key, value in document.items()]
    return []


async def request_fields(request: Request) -> list[tuple[str, str]]:
    """Query parameters, then form or JSON body fields: the platforms accept their parameters in either place."""
    fields = list(request.query_params.multi_items())
    if request.method not in ("GET", "HEAD"):
        fields += _body_fields(await request.body(), request.headers.get("content-type", ""))
    return fields


async def read_params(request: Request) -> dict[str, str]:
    return dict(await request_fields(request))


def presented_token(request: Request, params: dict[str, str]) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return params.get("access_token") or None


def requested_fields(spec: str | None) -> list[str]:
    """Top-level names of a Graph `fields` list such as "id,picture.type(large),instagram_business_account{id}"."""
    items, depth, current = [], 0, ""
    for char in spec or "":
        depth += (char in "{(") - (char in "})")
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    names: list[str] = []
    for item in items:
        match = _FIELD_NAME.match(item)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def select_fields(available: dict[str, Any], fields: list[str], node_type: str, *, with_id: bool = True,
                  ) -> dict[str, Any]:
    """Graph answers the fields asked for plus the node's id, leaves out empty ones, and refuses names the node
    lacks. Values may be callables, so that costly ones (a page token) are only produced when asked for."""
    for name in fields:
        if name not in available:
            raise GraphError(f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", code=100)
    names = [*fields, "id"] if with_id and "id" in available and "id" not in fields else fields
    values = {name: available[name]() if callable(available[name]) else available[name] for name in names}
    return {name: value for name, value in values.items() if value is not None}


def graph_time(at: float) -> str:
    """Graph's timestamps: 2026-07-01T10:00:00+0000."""
    return datetime.fromtimestamp(at, UTC).strftime(GRAPH_TIME_FORMAT)


def parse_time(value: str | None) -> float | None:
    """A time as Graph takes it (since, until, scheduled_publish_time): UNIX seconds or ISO 8601. ValueError when
    it is neither."""
    if value is None or value == "":
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def param_bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def note_business_use(request: Request, object_id: str, kind: str) -> None:
    """Marks the call as one on a Page or Instagram object, so it is reported in X-Business-Use-Case-Usage."""
    setattr(request.state, BUSINESS_USE_KEY, (object_id, kind))


def original_path(request: Request) -> str:
    return str(getattr(request.state, ORIGINAL_PATH_KEY, request.url.path))


def _multi_dict(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    result: dict[str, str | list[str]] = {}
    for key, value in pairs:
        existing = result.get(key)
        if existing is None:
            result[key] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            result[key] = [existing, value]
    return result


def _recorded_body(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json") and body:
        try:
            document = json.loads(body)
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {"_json": document}
    return dict(_multi_dict(_body_fields(body, content_type)))


def _transient_response(host: str) -> JSONResponse:
    if host in GRAPH_HOSTS:
        return JSONResponse(graph_transient_error().body(), status_code=500)
    if host == "instagram-api":
        return JSONResponse(InstagramLoginError(TRANSIENT_MESSAGE, status_code=500).body(), status_code=500)
    return JSONResponse(tiktok_transient_error().body(), status_code=500)


def _graph_node(path: str) -> str:
    """The node a Graph path addresses: "178414" in /facebook-graph/178414/media (versions already stripped)."""
    parts = path.split("/")
    return parts[2] if len(parts) > 2 else ""


def _presented_token(scope: Scope, body: bytes) -> str | None:
    headers: dict[str, str] = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"))
    fields: dict[str, str] = dict(query + _body_fields(body, headers.get("content-type", "")))
    return fields.get("access_token")


async def _stall(seconds: float, receive: Receive) -> bool:
    """Holds the request for `seconds`; False as soon as the client hangs up, True if it is still waiting."""
    async def client_gone() -> bool:
        message: Message = await receive()
        return bool(message["type"] == "http.disconnect")

    watcher = asyncio.ensure_future(client_gone())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    done, _ = await asyncio.wait({watcher}, timeout=seconds)
    if not done:
        watcher.cancel()
        return True
    if watcher.result():
        return False
    await asyncio.sleep(max(0.0, deadline - loop.time()))
    return True


class PlatformMiddleware:
    def __init__(self, app: ASGIApp, *, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        host = path.split("/", 2)[1] if path.startswith("/") else ""
        platform = HOSTS.get(host)
        if scope["type"] != "http" or platform is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        self._record(scope, host, platform, body)
        scope.setdefault("state", {})[ORIGINAL_PATH_KEY] = path
        if versioned := _VERSIONED_PATH.match(path):
            unversioned = f"/{versioned['host']}{versioned['rest'] or ''}"
            scope = {**scope, "path": unversioned, "raw_path": unversioned.encode()}
        if host in GRAPH_HOSTS:
            self.state.usage.count_app_call(self.state.now())
            send = self._reporting_usage(scope, send)
        fault = self._draw_fault(scope, host, platform, path)
        if fault is not None and fault.mode in ("error_500", "rate_limit"):
            refusal = _transient_response(host) if fault.mode == "error_500" else self._rate_limited(
                scope, host, fault.platform, body)
            await refusal(scope, receive, send)
            return
        if fault is not None and fault.mode == "timeout":
            # The platform never got the request while the client waited; if the client gave up, it never will.
            if not await _stall(self.state.settings.stall_seconds, receive):
                fault.outcome = "dropped"
                return
            fault.outcome = "answered"
        if host in API_HOSTS and not path.startswith(DIALOG_PATH_PREFIXES):
            settings = self.state.settings
            if settings.latency_ms:
                await asyncio.sleep(settings.latency_ms / 1000)
            if random.random() < settings.error_rate:
                await _transient_response(host)(scope, receive, send)
                return
        if fault is not None and fault.mode in ("accept_then_error", "accept_then_stall"):
            await self._accept_then(fault, host, scope, _replaying(body, receive), receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    def _draw_fault(self, scope: Scope, host: str, platform: Platform, path: str) -> FiredFault | None:
        faults = self.state.faults
        if not faults.rules:
            return None
        if host == "facebook-graph":
            platform = self.state.graph_node_platform(_graph_node(scope["path"]))
        return faults.draw(platform, scope["method"], path, random.random(), self.state.now())

    def _rate_limited(self, scope: Scope, host: str, platform: str, body: bytes) -> Response:
        if host in GRAPH_HOSTS:
            # Instagram calls run into the app's limit (#4), Page calls into the Page's (#32); both say in
            # X-Business-Use-Case-Usage that the object is at 100% for another minute.
            error = (GraphError("(#4) Application request limit reached", code=4, is_transient=True)
                     if platform == "instagram" else GraphError("(#32) Page request limit reached", code=32))
            headers = {}
            business = self.state.business_object(_graph_node(scope["path"]), _presented_token(scope, body))
            if business is not None:
                object_id, kind = business
                headers["X-Business-Use-Case-Usage"] = _compact({object_id: [{
                    "type": kind, "call_count": 100, "total_cputime": 100, "total_time": 100,
                    "estimated_time_to_regain_access": 1}]})
            return JSONResponse(error.body(), status_code=400, headers=headers)
        if host == "instagram-api":
            return JSONResponse(InstagramLoginError("Application request limit reached", status_code=429).body(),
                                status_code=429)
        limited = TikTokApiError("rate_limit_exceeded", "API rate limit exceeded, please retry later.", status_code=429)
        return JSONResponse(limited.body(), status_code=429)

    async def _accept_then(self, fault: FiredFault, host: str, scope: Scope, replay: Receive, receive: Receive,
                           send: Send) -> None:
        """The platform does the work; then the client gets a transient error, or its answer only after a stall."""
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, replay, keep)
        if fault.mode == "accept_then_error":
            fault.outcome = "done_then_error"
            await _transient_response(host)(scope, receive, send)
            return
        if not await _stall(self.state.settings.stall_seconds, receive):
            fault.outcome = "done_client_gone"
            return
        fault.outcome = "done_then_answered"
        for message in answer:
            await send(message)

    def _record(self, scope: Scope, host: str, platform: Platform, body: bytes) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        self.state.record_request(RecordedRequest(
            at=self.state.now(), platform=platform, host=host, method=scope["method"], path=scope["path"],
            query=_multi_dict(query), body=_recorded_body(body, headers.get("content-type", "")), headers=headers))

    def _reporting_usage(self, scope: Scope, send: Send) -> Send:
        state = self.state

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                settings = state.settings
                headers["X-App-Usage"] = _compact(state.usage.app_usage(settings.app_usage_calls_per_hour))
                business_use = scope.get("state", {}).get(BUSINESS_USE_KEY)
                if business_use is not None:
                    object_id, kind = business_use
                    now = state.now()
                    state.usage.count_business_call(object_id, now)
                    headers["X-Business-Use-Case-Usage"] = _compact(state.usage.business_usage(
                        object_id, kind, settings.business_usage_calls_per_hour, now,
                        settings.business_usage_percent_override))
            await send(message)

        return send_with_usage


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
