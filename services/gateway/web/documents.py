"""Pages of text in the layout: the privacy policy, how to delete your data, and a deletion request's status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from services.gateway.privacy_pages import (
    DELETION_INSTRUCTIONS_PATH,
    Document,
    render_deletion_instructions,
    render_privacy_policy,
)
from services.gateway.web.context import page
from services.gateway.web.deps import WebDeps
from services.gateway.web.formatting import parse_instant

POLICY = Path(__file__).parents[1] / "static" / "privacy-policy.txt"
CODE_LIMIT = 64  # privacy's
SCOPE_WORDS = {"account": "the Postifys account and everything in it",
               "connections": "connected social accounts and the data Postifys held about them"}
PART_WORDS = {"identity": "Profile, email address, password, sessions and sign-in history",
              "connector": "Connected accounts, their permissions and platform tokens (revoked at the platform "
                           "where the platform allows it)",
              "publisher": "Posts, captions, media links, schedules and each platform's responses",
              "webhooks": "Notifications the platforms sent about those accounts",
              "media": "Uploaded images and videos, their thumbnails and unfinished uploads"}
KEPT = {"account": "What stays: this record only — the confirmation code, what was asked, when, and each part's "
                   "outcome. It holds no name, email address or platform id, and shows that the request was honoured.",
        "connections": "What stays: the Postifys account itself, posts that also went to accounts you kept (without "
                       "the deleted accounts' parts), and this record — the confirmation code, what was asked, when, "
                       "and each part's outcome, with no platform id in it."}


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and request.query_params.get("format") != "json"


def register(router: APIRouter, deps: WebDeps) -> None:
    async def show(request: Request, document: Document) -> HTMLResponse:
        # The body is built from escaped lines only (privacy_pages), so it is markup, not text.
        return page(request, "document.html", await deps.person(request), title=document.title,
                    body=Markup(document.body))  # noqa: S704

    @router.get("/privacy/deletion/{code}")
    async def deletion_status(request: Request, code: str) -> Response:
        """Privacy's status of the request, shown in the layout to browsers; anyone else (Meta, the page's own
        refreshing) gets privacy's JSON as it is."""
        person = await deps.person(request)
        if wants_html(request) and not (code.isalnum() and len(code) <= CODE_LIMIT):
            return page(request, "not_found.html", person, title="Page not found", status_code=404)
        try:
            answer = await deps.upstream().call(request, None, "GET", "privacy", f"/privacy/deletion/{code}",
                                                params={"format": "json"}, headers={"accept": "application/json"})
        except httpx.HTTPError:
            answer = None
        if not wants_html(request):
            if answer is None:
                return page(request, "unavailable.html", person, title="Unavailable", status_code=503)
            return Response(answer.content, status_code=answer.status_code,
                            media_type=answer.headers.get("content-type"), headers={"Cache-Control": "no-store"})
        if answer is None or answer.status_code >= 500:
            return page(request, "unavailable.html", person, title="Unavailable", status_code=503)
        if answer.status_code != 200:
            return page(request, "not_found.html", person, title="Page not found", status_code=404)
        deletion: dict[str, Any] = answer.json()
        steps = [{**s, "what": PART_WORDS.get(s.get("service"), s.get("service")),
                  "done_at": parse_instant(s.get("done_at"))} for s in deletion.get("steps") or []]
        response = page(request, "deletion_status.html", person, title="Deletion status", deletion={
            **deletion, "requested_at": parse_instant(deletion.get("requested_at")),
            "completed_at": parse_instant(deletion.get("completed_at"))},
            steps=steps, done=deletion.get("status") == "completed",
            finished=sum(1 for s in steps if s.get("status") == "done"),
            scope=SCOPE_WORDS.get(deletion.get("scope", ""), deletion.get("scope")),
            kept=KEPT.get(deletion.get("scope", ""), KEPT["account"]), zone=person.timezone if person else "UTC")
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/privacy")
    async def privacy_policy(request: Request) -> HTMLResponse:
        return await show(request, render_privacy_policy(POLICY.read_text(encoding="utf-8")))

    # Served here: the privacy service only answers below /privacy/deletion/ (see routing.ROUTES).
    @router.get(DELETION_INSTRUCTIONS_PATH)
    async def deletion_instructions(request: Request) -> HTMLResponse:
        return await show(request, render_deletion_instructions())
