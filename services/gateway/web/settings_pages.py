"""What the four settings pages (profile, security, notifications, your data) share: their sub-navigation, the
sentences their redirects may show, and calling a service as the person without a dropped connection failing the
page."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import Response

from services.gateway.web.auth import UNAVAILABLE, refused_status
from services.gateway.web.context import NOTICES, Person, error_of, page
from services.gateway.web.deps import WebDeps

SECTIONS = (("/settings", "Profile"), ("/settings/security", "Security"),
            ("/settings/notifications", "Notifications"), ("/settings/data", "Your data"))

# Registered with the others, so that a redirect from any page (the banner's "Send it again") can name them.
NOTICES.update({
    "email_change_sent": "Check your new inbox: we have sent a link there. Your address changes once you follow it.",
    "email_change_cancelled": "The email change is cancelled; your address stays as it is.",
    "email_changed": "Your email address is changed. Sign in with the new one from now on.",
    "confirmation_sent": "We have sent a new confirmation link to your email address.",
    "notifications_saved": "Your notification choices are saved.",
    "others_signed_out": "Every other session is signed out; this browser stays signed in.",
})


async def call(deps: WebDeps, request: Request, person: Person, method: str, service: str, path: str, *,
               body: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> httpx.Response | None:
    """The service's answer, or None when it cannot be reached (the page says so)."""
    try:
        return await deps.upstream().call(request, person, method, service, path, json=body, params=params)
    except httpx.HTTPError:
        return None


def ok(answer: httpx.Response | None, *statuses: int) -> bool:
    return answer is not None and answer.status_code in statuses


def refusal(answer: httpx.Response | None) -> tuple[dict[str, str], int]:
    """A refusal the form names no field for, as the sentence at its top and the status the page keeps: the
    service's own words for a 4xx (a rate limit says how long to wait), "try again" when it is away or unwell."""
    if answer is None or answer.status_code >= 500:
        return {"_service": UNAVAILABLE}, 503
    return {"_service": error_of(answer)["message"]}, refused_status(answer)


def settings_page(request: Request, section: str, template: str, person: Person, *, title: str,
                  status_code: int = 200, **context: Any) -> Response:
    """A page of settings/, its `section` (one of SECTIONS' paths) marked in the sub-navigation."""
    return page(request, f"settings/{template}", person, title=title, sections=SECTIONS, section=section,
                status_code=status_code, **{"errors": {}, **context})
