"""Every route of a service answers only signed internal calls from a caller that the route names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request

from shared.errors import Forbidden
from shared.internal import INTERNAL_SECRET_HEADER, Verifier, allowed_callers, signed_target, takes_streamed_body


def internal_guard(verifier: Verifier) -> Callable[[Request], Awaitable[None]]:
    async def require_internal(request: Request) -> None:
        """A valid signature, over the request and its body (unless the route streams it), from a caller that
        this route names."""
        target = signed_target(request.scope.get("raw_path", request.url.path.encode()).decode("latin-1"),
                               request.scope.get("query_string", b"").decode("latin-1"))
        route = request.scope.get("route")
        streamed = route is not None and takes_streamed_body(route.endpoint)
        caller = verifier.caller(request.headers.get(INTERNAL_SECRET_HEADER), request.method, target,
                                 request.headers, None if streamed else await request.body())
        if caller is None or route is None or caller not in allowed_callers(route.endpoint, route.path):
            raise Forbidden("Internal endpoint.", code="internal_only")
    return require_internal


def refuse_unnamed_internal_routes(app: FastAPI, service: str) -> None:
    for route in app.routes:
        path = str(getattr(route, "path", ""))
        if path.startswith("/internal") and not allowed_callers(getattr(route, "endpoint", None), path):
            raise RuntimeError(f"{service}: {path} names no caller (shared.internal.callers)")
