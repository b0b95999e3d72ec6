"""The web app's screens, each in its own module with a `register(router, deps)`."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.web import accounts, auth, calendar, compose, documents, posts, profile
from services.gateway.web.deps import WebDeps


def web_router(deps: WebDeps) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for screen in (auth, accounts, compose, posts, calendar, profile, documents):
        screen.register(router, deps)
    return router
