"""The home page (a product landing, or the signed-in person's dashboard) and the connected accounts: connecting,
reconnecting and disconnecting them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web.context import (
    Person,
    content_security_policy,
    error_of,
    origin_of,
    page,
    redirect,
    sign_in_first,
)
from services.gateway.web.deps import WebDeps
from services.gateway.web.formatting import parse_instant, platform_name

# The connect offers, in the order shown; Instagram Login only where its app is configured.
PROVIDERS = {
    "facebook": ("Facebook Pages", "Pages you manage, and the Instagram professional accounts linked to them.",
                 "Connect Facebook"),
    "instagram": ("Instagram", "An Instagram professional account on its own, with Instagram Login: no Facebook "
                  "Page needed.", "Connect with Instagram"),
    "tiktok": ("TikTok", "Your TikTok account, to post videos and photos.", "Connect TikTok"),
}
# Only these fixed sentences are shown after a connection: nothing from the query string is echoed into the page.
OUTCOMES = {
    "connected": "{platform} is connected.",
    "denied": "You did not allow Postifys to access {platform}. Nothing was connected.",
    "failed": "{platform} did not complete the connection. Please try again; if it keeps failing, "
              "{platform} may be having trouble.",
    "platform_error": "{platform} reported an error during the connection. Nothing was connected.",
}
ACCOUNT_STATUSES = {"active": "Active", "reauth_required": "Reconnect needed", "disconnected": "Disconnected"}
KINDS = {"facebook_page": "Facebook Page", "instagram": "Instagram professional account", "tiktok": "TikTok account"}
UPCOMING = 5
UNAVAILABLE = "Postifys could not do that just now. Try again in a moment."


def outcome(result: str | None, provider: str | None) -> dict[str, Any] | None:
    if result not in OUTCOMES or provider not in PROVIDERS:
        return None
    return {"text": OUTCOMES[result].format(platform=platform_name(provider)), "ok": result == "connected"}


def connect_offers(*, instagram_login: bool) -> list[tuple[str, str, str, str]]:
    """(provider, name, what it connects, the button's words), for the accounts page."""
    return [(p, *PROVIDERS[p]) for p in PROVIDERS if p != "instagram" or instagram_login]


def login_provider(account: dict[str, Any]) -> str:
    """Which login reconnects this account: the one that connected it (an Instagram account came either through a
    Facebook Page or through Instagram Login)."""
    return str(account.get("provider") or account.get("platform"))


def display_name(account: dict[str, Any]) -> str:
    return str(account.get("name") or account.get("username") or account.get("external_id") or "This account")


def greeting(person: Person, now: datetime) -> str:
    hour = now.astimezone(person.zone).hour
    part = "Good morning" if 5 <= hour < 12 else "Good afternoon" if 12 <= hour < 18 else "Good evening"
    return f"{part}, {person.name}" if person.name else part


def register(router: APIRouter, deps: WebDeps) -> None:
    async def listed(request: Request, person: Person, service: str, path: str,
                     params: dict[str, Any] | None = None) -> list[dict[str, Any]] | None:
        """The items of a list, or None when the service cannot say just now (the page says so, and still loads)."""
        try:
            answer = await deps.upstream().call(request, person, "GET", service, path, params=params)
        except httpx.HTTPError:
            return None
        if answer.status_code != 200:
            return None
        return list(answer.json().get("items") or [])

    async def posts_around(request: Request, person: Person, *, upcoming: bool) -> list[dict[str, Any]] | None:
        """The soonest scheduled posts (soonest first), or the latest that were due (latest first)."""
        now = datetime.now(UTC).isoformat()
        window = ({"status": "scheduled", "sort": "due_asc", "due_from": now} if upcoming
                  else {"sort": "due", "due_to": now})
        posts = await listed(request, person, "publisher", "/api/v1/posts", {**window, "limit": UPCOMING})
        return None if posts is None else [{**p, "due_at": parse_instant(p.get("due_at"))} for p in posts]

    def account_names(accounts: list[dict[str, Any]]) -> dict[str, str]:
        return {str(a.get("id")): display_name(a) for a in accounts}

    def shown_accounts(accounts: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
        """The accounts as the templates show them, and the hosts their avatars come from (for the CSP)."""
        origins: set[str] = set()
        shown = []
        for account in accounts:
            origin = origin_of(account.get("avatar_url"), https_only=deps.settings.is_production)
            if origin:
                origins.add(origin)
            permissions = account.get("permissions") or {}
            shown.append({**account, "display_name": display_name(account), "avatar": account.get("avatar_url")
                          if origin else None, "provider": login_provider(account),
                          "declined": list(permissions.get("declined") or []),
                          "status_label": ACCOUNT_STATUSES.get(account.get("status", ""), account.get("status")),
                          "kind_label": KINDS.get(account.get("kind", ""), "")})
        return shown, origins

    @router.get("/")
    async def home(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return page(request, "home.html", None, title="Publish to Facebook, Instagram and TikTok")
        accounts, upcoming, recent = await asyncio.gather(
            listed(request, person, "connector", "/api/v1/accounts"), posts_around(request, person, upcoming=True),
            posts_around(request, person, upcoming=False))
        active = None if accounts is None else [a for a in accounts if a.get("status") != "disconnected"]
        return page(request, "home.html", person, title="Home", greeting=greeting(person, datetime.now(UTC)),
                    upcoming=upcoming, recent=recent, names=account_names(active or []),
                    accounts=active, needs_reconnect=[display_name(a) for a in active or []
                                                      if a.get("status") == "reauth_required"])

    @router.get("/accounts")
    async def accounts_page(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        accounts = await listed(request, person, "connector", "/api/v1/accounts")
        shown, origins = shown_accounts([a for a in accounts or [] if a.get("status") != "disconnected"])
        offers = connect_offers(instagram_login=deps.settings.instagram_login_configured)
        response = page(request, "accounts.html", person, title="Accounts", accounts=None if accounts is None
                        else shown, offers=offers, outcome=outcome(request.query_params.get("result"),
                                                                   request.query_params.get("provider")))
        response.headers["Content-Security-Policy"] = content_security_policy(origins)
        return response

    async def one_account(request: Request, person: Person, account_id: str) -> dict[str, Any] | None:
        accounts = await listed(request, person, "connector", "/api/v1/accounts")
        return next((a for a in accounts or [] if a.get("id") == account_id and a.get("status") != "disconnected"),
                    None)

    def disconnect_page(request: Request, person: Person, account: dict[str, Any] | None, *,
                        errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
        if account is None:
            return page(request, "disconnect.html", person, title="Account not connected", account=None,
                        status_code=404)
        shown, origins = shown_accounts([account])
        name = f"{shown[0]['display_name']} ({platform_name(account.get('platform'))})"
        response = page(request, "disconnect.html", person, title=f"Disconnect {name}", account=shown[0],
                        account_label=name, errors=errors or {}, status_code=status_code)
        response.headers["Content-Security-Policy"] = content_security_policy(origins)
        return response

    @router.get("/accounts/{account_id}/disconnect")
    async def disconnect_confirmation(request: Request, account_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        if not is_uuid(account_id):
            return disconnect_page(request, person, None)
        return disconnect_page(request, person, await one_account(request, person, account_id))

    @router.post("/accounts/{account_id}/disconnect")
    async def disconnect(request: Request, account_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        if not is_uuid(account_id):
            return disconnect_page(request, person, None)
        try:
            answer = await deps.upstream().call(request, person, "DELETE", "connector",
                                                f"/api/v1/accounts/{account_id}")
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code == 204:
            return redirect("/accounts", notice="disconnected")
        if answer is not None and answer.status_code == 404:
            return disconnect_page(request, person, None)
        refused = answer is not None and answer.status_code < 500
        problem = error_of(answer)["message"] if answer is not None and refused else UNAVAILABLE
        return disconnect_page(request, person, await one_account(request, person, account_id),
                               errors={"_service": problem},
                               status_code=answer.status_code if answer is not None and refused else 503)


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
