"""Each platform's own error shapes, raised by the routers and rendered by the handlers installed here."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.state import TokenRejected

GRAPH_HOSTS = ("/facebook-graph", "/instagram-graph")
TRANSIENT_MESSAGE = "An unexpected error has occurred. Please retry your request later."


def fbtrace_id() -> str:
    return f"A{secrets.token_urlsafe(15)}"


def tiktok_log_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()


class GraphError(Exception):
    """{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", ...}} as graph.facebook.com and
    graph.instagram.com send it."""

    def __init__(self, message: str, *, code: int, status_code: int = 400, subcode: int | None = None,
                 error_type: str = "OAuthException", **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.subcode = subcode
        self.error_type = error_type
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": {**error, **self.extra, "fbtrace_id": fbtrace_id()}}


def graph_transient_error() -> GraphError:
    return GraphError(TRANSIENT_MESSAGE, code=2, status_code=500, is_transient=True)


def graph_unsupported_request(method: str, object_id: str) -> GraphError:
    return GraphError(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api", code=100, subcode=33)


def _graph_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def graph_token_error(rejected: TokenRejected, now: float) -> GraphError:
    prefix = "Error validating access token: "
    token = rejected.token
    if rejected.problem == "expired" and token is not None and token.expires_at is not None:
        return GraphError(f"{prefix}Session has expired on {_graph_time(token.expires_at)}. "
                          f"The current time is {_graph_time(now)}.", code=190, subcode=463)
    if rejected.problem in ("revoked", "replaced"):
        return GraphError(f"{prefix}The session has been invalidated because the user has de-authorized the app "
                          "or changed their password.", code=190, subcode=460)
    return GraphError(f"{prefix}The access token could not be decrypted or is invalid.", code=190, subcode=467)


class InstagramLoginError(Exception):
    """api.instagram.com's OAuth errors: {"error_type", "code", "error_message"}."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    def body(self) -> dict[str, Any]:
        return {"error_type": "OAuthException", "code": self.status_code, "error_message": self.message}


class TikTokOAuthError(Exception):
    """The OAuth endpoints' flat shape: {"error", "error_description", "log_id"}."""

    def __init__(self, error: str, description: str, *, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description, "log_id": tiktok_log_id()}


class TikTokApiError(Exception):
    """The v2 API envelope: {"data": {}, "error": {"code", "message", "log_id"}}."""

    def __init__(self, code: str, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code

    def body(self) -> dict[str, Any]:
        return tiktok_envelope({}, code=self.code, message=self.message)


def tiktok_envelope(data: dict[str, Any], *, code: str = "ok", message: str = "") -> dict[str, Any]:
    return {"data": data, "error": {"code": code, "message": message, "log_id": tiktok_log_id()}}


def tiktok_transient_error() -> TikTokApiError:
    return TikTokApiError("internal_error", "Something went wrong. Please try again later.", status_code=500)


def tiktok_token_invalid() -> TikTokApiError:
    return TikTokApiError("access_token_invalid", "The access token is invalid or not found in the request.",
                          status_code=401)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GraphError)
    async def _graph(_: Request, exc: GraphError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(InstagramLoginError)
    async def _instagram_login(_: Request, exc: InstagramLoginError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(TikTokOAuthError)
    async def _tiktok_oauth(_: Request, exc: TikTokOAuthError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(TikTokApiError)
    async def _tiktok_api(_: Request, exc: TikTokApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def _unknown_path(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Graph answers paths it does not serve with its own error, not a bare 404.
        if exc.status_code in (404, 405) and request.url.path.startswith(GRAPH_HOSTS):
            error = GraphError(f"Unknown path components: {request.url.path}", code=100)
            return JSONResponse(error.body(), status_code=400)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
