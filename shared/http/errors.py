"""The error shape of every answer: Postifys errors, validation, Starlette's own refusals, the unexpected."""

from __future__ import annotations

from typing import Any, NoReturn

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.errors import PostifysError, error_body

log = structlog.get_logger()


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        details.append({"field": ".".join(loc) or None, "message": err.get("msg", "invalid"), "type": err.get("type")})
    return details


def allowed_methods(request: Request) -> set[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "__none__"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return methods - {"HEAD"} if "GET" not in methods else methods


class OnlyThese(StarletteHTTPException):
    """A 405 whose Allow header is already exact (Starlette's own names only the first route's methods)."""


def refuse_other_methods(router: APIRouter, path: str, *allowed: str) -> None:
    """For a fixed path beside a parametrised one (`/posts/check` beside `/posts/{post_id}`): any other method is
    a 405 naming the allowed ones, not the parametrised route's 422 for an id that is not one. Register it before
    the parametrised routes."""
    others = [method for method in ("GET", "PUT", "PATCH", "DELETE", "POST") if method not in allowed]

    @router.api_route(path, methods=others, include_in_schema=False, response_model=None)
    async def method_not_allowed() -> NoReturn:
        raise OnlyThese(405, "Method not allowed.", headers={"Allow": ", ".join(allowed)})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PostifysError)
    async def _postifys_error(_: Request, exc: PostifysError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return JSONResponse(error_body("malformed_json", "The request body is not valid JSON."), status_code=400)
        return JSONResponse(
            error_body("validation_error", "Some fields are missing or invalid.", _validation_details(exc)),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        message = exc.detail if isinstance(exc.detail, str) else "Request refused."
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405 and not isinstance(exc, OnlyThese):
            # Starlette names only the first route's methods; a path can have several routes.
            headers["Allow"] = ", ".join(sorted(allowed_methods(request)))
        return JSONResponse(error_body(codes.get(exc.status_code, "http_error"), message),
                            status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(DBAPIError)
    async def _database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated:
            return await _unexpected(_, exc)
        # Connections are not pinged before use (a round trip each time): after a database restart, the first
        # use of each stale one fails, the pool drops them all, and asking again works.
        log.warning("Database connection lost; the pool reconnects")
        return JSONResponse(error_body("database_reconnecting", "We lost the database for a moment. Try again."),
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("Unexpected error")
        return JSONResponse(error_body("internal_error", "Something went wrong on our side. It has been logged."),
                            status_code=500)
