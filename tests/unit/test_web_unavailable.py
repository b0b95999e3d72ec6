"""The web pages when a service is away: a page in the layout saying so, never the API's JSON or a 500."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.app import IdentityUnavailable
from services.gateway.settings import GatewaySettings
from services.gateway.web import posts
from services.gateway.web.context import Upstream
from services.gateway.web.deps import WebDeps
from services.gateway.web.routes import web_router
from shared.http.app import create_http_app

SESSION = {"user_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()), "email_verified": True,
           "name": "Ada", "email": "ada@example.test", "timezone": "Europe/Paris"}
SERVICES = ("identity", "connector", "publisher", "privacy", "webhooks")
Answer = Callable[[httpx.Request], httpx.Response]


class ClientAddress:
    """What the gateway's guard sets on every request before a page runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["client_ip"] = "203.0.113.9"
        await self.app(scope, receive, send)


async def no_readiness() -> dict[str, bool]:
    return {}


def site(answer: Answer, session: dict[str, Any] | None = SESSION, *, identity_away: bool = False) -> TestClient:
    """The web router as the gateway mounts it, with the services answering `answer`."""
    async def resolve_session(_: Request) -> dict[str, Any] | None:
        if identity_away:
            raise IdentityUnavailable()
        return session

    upstream = Upstream(httpx.AsyncClient(transport=httpx.MockTransport(answer)),
                        {s: f"http://{s}.test" for s in SERVICES})
    app: FastAPI = create_http_app(title="test", readiness=no_readiness, middleware=(ClientAddress,), metrics=False)
    app.include_router(web_router(WebDeps(settings=GatewaySettings(env="development"), upstream=lambda: upstream,
                                          resolve_session=resolve_session)))

    @app.get("/api/v1/needs-identity")
    async def api_route() -> None:
        raise IdentityUnavailable()

    return TestClient(app, raise_server_exceptions=False)


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def failing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(502, text="Bad gateway")


def no_accounts(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"items": []})


@pytest.mark.parametrize("answer", [unreachable, failing], ids=["unreachable", "5xx"])
def test_the_cancel_confirmation_says_posts_are_unavailable_when_the_publisher_is(answer: Answer) -> None:
    response = site(answer).get(f"/posts/{uuid.uuid4()}/cancel")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert posts.UNAVAILABLE in response.text
    assert "<h1>Posts are unavailable</h1>" in response.text


@pytest.mark.parametrize("answer", [unreachable, failing], ids=["unreachable", "5xx"])
def test_changing_a_post_says_it_cannot_be_loaded_when_the_publisher_is_away(answer: Answer) -> None:
    response = site(answer).get("/compose", params={"post": str(uuid.uuid4())})

    assert response.status_code == 503
    assert "Postifys could not load this post just now." in response.text


def test_a_page_still_renders_when_identity_cannot_name_the_person() -> None:
    def me_unreachable(request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.test":
            raise httpx.ConnectError("refused", request=request)
        return no_accounts(request)

    session = {k: v for k, v in SESSION.items() if k not in ("name", "email", "timezone")}
    response = site(me_unreachable, session).get("/accounts")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/", "/posts", "/calendar", "/signin", "/privacy"])
def test_every_page_says_postifys_is_unavailable_in_the_layout_when_identity_is(path: str) -> None:
    response = site(no_accounts, identity_away=True).get(path)

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "5"
    assert "Postifys is unavailable for a moment." in response.text
    assert 'href="/privacy"' in response.text  # the layout's footer


def test_the_api_keeps_its_json_when_identity_is_away() -> None:
    response = site(no_accounts, identity_away=True).get("/api/v1/needs-identity")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
