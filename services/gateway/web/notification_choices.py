"""Settings, notifications: which mails the person gets about their posts and accounts (identity keeps the choice
and sends the mails)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web.context import Person, redirect, sign_in_first
from services.gateway.web.deps import WebDeps
from services.gateway.web.settings_pages import call, ok, refusal, settings_page

# (field, label, hint), in the order shown; identity's defaults apply until the person saves.
CHOICES = (
    ("target_failed", "A post could not be published", "When an account refuses a post, with what to do about it."),
    ("post_published", "A post has been published", "Once every account of the post has its outcome: one mail "
                                                     "per post."),
    ("reauth_required", "An account needs reconnecting", "When a platform stops accepting Postifys' access to an "
                                                         "account, so its scheduled posts would fail."),
)


def register(router: APIRouter, deps: WebDeps) -> None:
    async def notifications_page(request: Request, person: Person, *, errors: dict[str, str] | None = None,
                                 status_code: int = 200) -> Response:
        answer = await call(deps, request, person, "GET", "identity", "/api/v1/me/notifications")
        chosen = answer.json() if answer is not None and ok(answer, 200) else None
        return settings_page(request, "/settings/notifications", "notifications.html", person,
                             title="Notifications", choices=CHOICES, chosen=chosen, errors=errors or {},
                             status_code=status_code)

    @router.get("/settings/notifications")
    async def notifications(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return await notifications_page(request, person)

    @router.post("/settings/notifications")
    async def save_notifications(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        # An unticked box is not sent at all: every choice is stated, so none falls back to its default.
        body = {field: form.get(field) == "on" for field, _, _ in CHOICES}
        answer = await call(deps, request, person, "PUT", "identity", "/api/v1/me/notifications", body=body)
        if ok(answer, 200):
            return redirect("/settings/notifications", notice="notifications_saved")
        errors, status = refusal(answer)
        return await notifications_page(request, person, errors=errors, status_code=status)
