"""Pages of text in the layout: the privacy policy and how to delete your data."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from services.gateway.privacy_pages import (
    DELETION_INSTRUCTIONS_PATH,
    Document,
    render_deletion_instructions,
    render_privacy_policy,
)
from services.gateway.web.context import page
from services.gateway.web.deps import WebDeps

POLICY = Path(__file__).parents[1] / "static" / "privacy-policy.txt"


def register(router: APIRouter, deps: WebDeps) -> None:
    async def show(request: Request, document: Document) -> HTMLResponse:
        # The body is built from escaped lines only (privacy_pages), so it is markup, not text.
        return page(request, "document.html", await deps.person(request), title=document.title,
                    body=Markup(document.body))  # noqa: S704

    @router.get("/privacy")
    async def privacy_policy(request: Request) -> HTMLResponse:
        return await show(request, render_privacy_policy(POLICY.read_text(encoding="utf-8")))

    # Served here: the privacy service only answers below /privacy/deletion/ (see routing.ROUTES).
    @router.get(DELETION_INSTRUCTIONS_PATH)
    async def deletion_instructions(request: Request) -> HTMLResponse:
        return await show(request, render_deletion_instructions())
