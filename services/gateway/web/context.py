"""What every page of the web app shares: who is signed in, calling the services as them, rendering a template.

Pages call the services' public APIs exactly as a browser's fetch would reach them through the gateway, with the
person's identity headers set by the gateway; they never touch a service's database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from services.gateway.web import formatting
from shared.internal import CLIENT_IP_HEADER, EMAIL_VERIFIED_HEADER, REQUEST_ID_HEADER, SESSION_HEADER, USER_HEADER

log = structlog.get_logger()

TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                                           autoescape=True, trim_blocks=True, lstrip_blocks=True))
formatting.install(TEMPLATES.env)

# Fixed sentences a redirect may ask a page to show (`?notice=key`): nothing from the query string is echoed.
NOTICES = {
    "scheduled": "Your post is scheduled.",
    "publishing": "Your post is on its way.",
    "draft_saved": "Your draft is saved.",
    "updated": "Your post is updated.",
    "cancelled": "The post is cancelled; nothing more will be published.",
    "retrying": "Postifys is trying that account again.",
    "disconnected": "The account is disconnected.",
    "signed_in": "You are signed in.",
    "signed_out": "You are signed out.",
    # The same after a sign-up with an address that has an account already (its owner gets a mail instead).
    "signed_up": "Check your inbox: we have sent a link to confirm your email address. Sign in to continue.",
    "settings_saved": "Your settings are saved.",
    "timezone_saved": "Times are now shown in your browser's time zone. You can change it in Settings.",
    "reset_sent": "If an account uses this address, we have sent it a link to choose a new password.",
    "password_changed": "Your password is changed. Sign in with the new one.",
    "verification_sent": "If an unverified account uses this address, we have sent it a new confirmation link.",
    "email_verified": "Your email address is confirmed.",
    "password_updated": "Your password is changed. Your other sessions are signed out.",
    "session_revoked": "That session is signed out.",
}


@dataclass(frozen=True)
class Person:
    """The signed-in person, as the gateway resolved their session."""

    user_id: str
    session_id: str
    email_verified: bool
    name: str
    email: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return formatting.zone(self.timezone)


class Upstream:
    """Calls a service's public API on behalf of the signed-in person (or of nobody)."""

    def __init__(self, client: httpx.AsyncClient, service_urls: dict[str, str]) -> None:
        self.client = client
        self.urls = service_urls

    async def call(self, request: Request, person: Person | None, method: str, service: str, path: str, *,
                   json: Any = None, params: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None, content: Any = None, files: Any = None,
                   auth: httpx.Auth | None = None, timeout: httpx.Timeout | None = None) -> httpx.Response:
        """`content` or `files` stream a body (an upload) when given with the streaming `auth`."""
        # The browser's address and agent, as the proxied API gets them: identity's per-address limits and its
        # sessions list count the person, not the gateway.
        sent = {REQUEST_ID_HEADER: request.state.request_id, CLIENT_IP_HEADER: request.state.client_ip,
                "user-agent": request.headers.get("user-agent", "")[:512], **(headers or {})}
        if person is not None:
            sent.update({USER_HEADER: person.user_id, SESSION_HEADER: person.session_id,
                         EMAIL_VERIFIED_HEADER: "1" if person.email_verified else "0"})
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        outgoing = self.client.build_request(method, f"{self.urls[service]}{path}", json=json, params=query,
                                             headers=sent, content=content, files=files,
                                             timeout=timeout or httpx.USE_CLIENT_DEFAULT)
        return await self.client.send(outgoing, auth=auth or httpx.USE_CLIENT_DEFAULT)


def page(request: Request, template: str, person: Person | None, *, status_code: int = 200,
         title: str = "", **context: Any) -> HTMLResponse:
    """A rendered page. Signed-in pages are never stored by a browser or a proxy."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    response = TEMPLATES.TemplateResponse(request, template, {
        "person": person, "title": title, "notice": notice, "nav": template.split("/")[0].split(".")[0],
        "current_path": request.url.path,
        **context}, status_code=status_code)
    if person is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


def redirect(path: str, **params: str) -> RedirectResponse:
    """POST/redirect/GET: always 303, so a reload never resends the form."""
    return RedirectResponse(path + (f"?{urlencode(params)}" if params else ""), status_code=303)


def sign_in_first(request: Request) -> Response:
    return redirect("/signin", next=request.url.path if request.url.path.startswith("/") else "/")


def form_token() -> str:
    """An idempotency key put in a form, so a double click or a resubmitted form creates one thing."""
    return secrets.token_urlsafe(24)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The one error shape of every service, or a plain sentence when the answer is not in it."""
    try:
        body = response.json()
        error = body["error"]
        return {"code": str(error.get("code")), "message": str(error.get("message")),
                "details": error.get("details")}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {"code": "unavailable", "message": "Postifys could not do that just now. Try again in a moment.",
                "details": None}


def content_security_policy(media_origins: set[str] | frozenset[str] = frozenset()) -> str:
    """Strict: our own scripts and styles only; images and media also from the hosts of the person's own media
    (and their accounts' avatars), named one by one."""
    hosts = " ".join(sorted(media_origins))
    media = f"'self' {hosts}".strip()
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {media}; media-src {media}; "
            "connect-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'")


def origin_of(url: str | None, *, https_only: bool) -> str | None:
    """scheme://host[:port] of a media or avatar URL, when it may be shown."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in (("https",) if https_only else ("https", "http")) or not parts.hostname:
        return None
    if any(c in parts.hostname for c in "'; \"") or any(c.isspace() for c in parts.hostname):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
