"""The web app's screens, each in its own module with a `register(router, deps)`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from services.gateway.web import (
    account_security,
    accounts,
    auth,
    calendar,
    compose,
    documents,
    notification_choices,
    posts,
    profile,
    your_data,
)
from services.gateway.web.context import page
from services.gateway.web.deps import WebDeps
from shared.errors import PostifysError

RETRY_AFTER_SECONDS = "5"


class PageRoute(APIRoute):
    """A page whose session cannot be resolved (identity away: a 503 error) answers with a page in the layout;
    the API keeps its JSON, since this class serves the web router only."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_or_unavailable(request: Request) -> Response:
            try:
                return await handler(request)
            except PostifysError as exc:
                if exc.status_code != 503:
                    raise
                response = page(request, "unavailable.html", None, status_code=503, title="Unavailable")
                response.headers["Retry-After"] = (exc.headers or {}).get("Retry-After", RETRY_AFTER_SECONDS)
                response.headers["Cache-Control"] = "no-store"
                return response

        return page_or_unavailable


def web_router(deps: WebDeps) -> APIRouter:
    router = APIRouter(include_in_schema=False, route_class=PageRoute)
    for screen in (auth, accounts, compose, posts, calendar, profile, account_security, notification_choices,
                   your_data, documents):
        screen.register(router, deps)
    return router
