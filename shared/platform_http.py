"""Talking HTTP to Meta and TikTok: each platform's error envelope turned into one `PlatformError` that says
whether to retry, back off or ask for reconnection. Shared by the connector and the publisher; the
platforms' documented contracts are in reference/platform-apis.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

GRAPH_TOKEN_INVALID = frozenset({190, 102})
GRAPH_TRANSIENT = frozenset({1, 2, 4, 17, 32, 341, 613, -1, -2})
GRAPH_RATE_LIMITED = frozenset({4, 17, 32, 613, *range(80000, 80015)})
NAMES = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok"}


class PlatformError(Exception):
    """What a platform answered, kept for the person and for the retry decision. `sent` tells whether the
    request may have reached the platform (a timeout after sending leaves the outcome unknown)."""

    def __init__(self, platform: str, message: str, *, code: str | int | None = None, subcode: int | None = None,
                 status: int | None = None, transient: bool = False, token_invalid: bool = False,
                 sent: bool = True, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.platform = platform
        self.message = message
        self.code = code
        self.subcode = subcode
        self.status = status
        self.transient = transient
        self.token_invalid = token_invalid
        self.sent = sent
        self.headers = headers or {}

    @property
    def outcome_unknown(self) -> bool:
        return self.status is None and self.sent

    @property
    def rate_limited(self) -> bool:
        """Refused for how often it was asked: TikTok's per-token limits, Graph's app and business limits."""
        return self.status == 429 or self.code == "rate_limit_exceeded" or \
            (self.platform != "tiktok" and self.code in GRAPH_RATE_LIMITED)

    def retry_after(self, default: int = 60) -> int:
        value = self.headers.get("retry-after", "")
        return int(value) if value.isdigit() and 0 < int(value) <= 3600 else default


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    headers: dict[str, str]
    status: int


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    return body if isinstance(body, dict) else {"data": body}


async def send(http: httpx.AsyncClient, platform: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    name = NAMES[platform]
    try:
        return await http.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise PlatformError(platform, f"{name} could not be reached ({type(exc).__name__}).", transient=True,
                            sent=False) from None
    except httpx.TimeoutException:
        raise PlatformError(platform, f"{name} did not answer in time.", transient=True) from None
    except httpx.HTTPError as exc:
        raise PlatformError(platform, f"{name} dropped the connection ({type(exc).__name__}).",
                            transient=True) from None


async def graph(http: httpx.AsyncClient, platform: str, method: str, url: str, **kwargs: Any) -> Answer:
    """Graph API (graph.facebook.com, graph.instagram.com): {"error": {message, type, code, error_subcode,
    is_transient, ...}} on failure; Instagram Login's api.instagram.com answers {error_type, code, error_message}."""
    response = await send(http, platform, method, url, **kwargs)
    body, headers = _json(response), {k.lower(): v for k, v in response.headers.items()}
    nested = body.get("error")
    if response.status_code >= 400 or isinstance(nested, dict) or "error_message" in body:
        error: dict[str, Any] = nested if isinstance(nested, dict) else body
        code = error.get("code")
        message = error.get("error_user_msg") or error.get("message") or error.get("error_message") \
            or f"{NAMES[platform]} answered HTTP {response.status_code}."
        raise PlatformError(platform, str(message), code=code, subcode=error.get("error_subcode"),
                            status=response.status_code, headers=headers,
                            transient=bool(error.get("is_transient")) or code in GRAPH_TRANSIENT
                            or response.status_code >= 500,
                            token_invalid=code in GRAPH_TOKEN_INVALID)
    return Answer(body, headers, response.status_code)


async def tiktok(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Answer:
    """TikTok: OAuth endpoints answer flat {error, error_description}; the others {data, error{code, message}}."""
    response = await send(http, "tiktok", method, url, **kwargs)
    body, headers = _json(response), {k.lower(): v for k, v in response.headers.items()}
    error = body.get("error")
    if isinstance(error, str):
        raise PlatformError("tiktok", str(body.get("error_description") or error), code=error,
                            status=response.status_code, transient=response.status_code >= 500, headers=headers,
                            token_invalid=error == "invalid_grant")
    error = error if isinstance(error, dict) else {}
    code = error.get("code", "ok" if response.status_code < 400 else "http_error")
    if code != "ok" or response.status_code >= 400:
        raise PlatformError("tiktok", str(error.get("message") or f"TikTok answered HTTP {response.status_code}."),
                            code=code, status=response.status_code, headers=headers,
                            transient=response.status_code >= 500 or code in ("rate_limit_exceeded", "internal_error"),
                            token_invalid=code == "access_token_invalid")
    return Answer(body, headers, response.status_code)
