"""Helpers for the publishing tests: tokens for the seeded accounts, media URLs, and waiting on a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from tests.sandbox.flows import bearer, facebook_long_token, graph_error, page_tokens, tiktok_tokens

T = TypeVar("T")
GRAPH = "/facebook-graph/v25.0"
IG_GRAPH = "/instagram-graph/v25.0"
TIKTOK = "/tiktok-api/v2/post/publish"
BAKERY = "1029"
BAKERY_IG = "178414"
DEADLINE_SECONDS = 5.0


def wait_until(check: Callable[[], T | None], *, timeout: float = DEADLINE_SECONDS, what: str = "the condition",
               interval: float = 0.02) -> T:
    """Polls `check` every `interval` seconds until it answers something truthy, failing the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s (last: {result!r})")
        time.sleep(interval)


def media(sandbox_url: str, name: str, **params: Any) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{sandbox_url}/_sandbox/media/{name}{query}"


def missing_media(sandbox_url: str, name: str) -> str:
    return f"{sandbox_url}/_sandbox/media-missing/{name}"


def settings(http: httpx.Client, **changes: Any) -> dict[str, Any]:
    response = http.put("/_sandbox/settings", json=changes)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def bakery_tokens(http: httpx.Client) -> tuple[str, str]:
    """Alice's long-lived user token and the page token of her Page 1029 (Acme Bakery, linked to IG 178414)."""
    user = facebook_long_token(http)
    return user, page_tokens(http, user)[BAKERY]


def publishes(http: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = http.get("/_sandbox/publishes", params=filters)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def breaches(http: httpx.Client) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = http.get("/_sandbox/breaches").json()
    return result


def graph_ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def graph_fails(response: httpx.Response, code: int, subcode: int | None = None, status: int = 400) -> dict[str, Any]:
    error = graph_error(response, status)
    assert error["code"] == code, error
    if subcode is not None:
        assert error.get("error_subcode") == subcode, error
    return error


def tiktok_token(http: httpx.Client, user_id: str = "-000abc", **consent: Any) -> str:
    return str(tiktok_tokens(http, user_id=user_id, **consent)["access_token"])


def tiktok_post(http: httpx.Client, token: str, endpoint: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"{TIKTOK}/{endpoint}", headers=bearer(token), json=body)


def tiktok_data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["error"]["code"] == "ok", body
    data: dict[str, Any] = body["data"]
    return data


def tiktok_fails(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["data"] == {}
    assert body["error"]["code"] == code, body
    assert body["error"]["log_id"]
    return body


def tiktok_status(http: httpx.Client, token: str, publish_id: str) -> dict[str, Any]:
    return tiktok_data(tiktok_post(http, token, "status/fetch/", {"publish_id": publish_id}))


def pull_video(url: str, privacy: str = "SELF_ONLY", **post_info: Any) -> dict[str, Any]:
    return {"post_info": {"privacy_level": privacy, "title": "a video", **post_info},
            "source_info": {"source": "PULL_FROM_URL", "video_url": url}}
