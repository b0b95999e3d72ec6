"""Settings: the person's time zone and password, where they are signed in, and their data (export, deleting the
connected accounts, deleting the whole account), each destructive step behind a page that says what goes."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web.accounts import is_uuid
from services.gateway.web.auth import (
    MIN_PASSWORD_LENGTH,
    PASSWORD_HINT,
    UNAVAILABLE,
    field_errors,
    local_path,
    password_problem,
    refused_status,
    text,
)
from services.gateway.web.context import Person, error_of, page, redirect, sign_in_first
from services.gateway.web.deps import WebDeps
from services.gateway.web.formatting import platform_name

# Legacy and POSIX aliases (`US/Eastern`, `Etc/GMT+5`, `posixrules`) are left out of the choice, not refused.
ZONE_REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
                "Pacific")
PROFILE_FIELDS = {"name": "Enter your name, up to 100 characters", "timezone": "Choose a time zone from the list"}
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Safari/", "Safari"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


@functools.lru_cache(maxsize=2)
def zone_choices(day: date) -> list[tuple[str, list[tuple[str, str]]]]:
    """IANA zones by region, each labelled with its offset from UTC today (it moves with summer time)."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    regions: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(zoneinfo.available_timezones()):
        region = name.split("/", 1)[0]
        if region not in ZONE_REGIONS or "/" not in name:
            continue
        regions.setdefault(region, []).append((name, f"{name.replace('_', ' ')} ({offset(noon, name)})"))
    return [("", [("UTC", "UTC (UTC+00:00)")]), *regions.items()]


def offset(moment: datetime, zone: str) -> str:
    shift = moment.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()
    minutes = int(shift.total_seconds() // 60) if shift else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def device_of(user_agent: str | None) -> str:
    """"Firefox on Linux": enough for a person to recognise their own devices."""
    agent = user_agent or ""
    browser = next((label for marker, label in BROWSERS if marker in agent), None)
    system = next((label for marker, label in SYSTEMS if marker in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return str(browser or system)
    readable = re.sub(r"[^\w ./()-]", "", agent)[:60]
    return readable or "Unknown device"


def status_path(deletion: dict[str, Any]) -> str:
    """The public status page of a deletion request, on this site."""
    path = urlsplit(str(deletion.get("status_url") or "")).path
    return path if path.startswith("/privacy/deletion/") else "/settings"


def register(router: APIRouter, deps: WebDeps) -> None:
    async def call(request: Request, person: Person, method: str, service: str, path: str,
                   body: dict[str, Any] | None = None) -> httpx.Response | None:
        try:
            return await deps.upstream().call(request, person, method, service, path, json=body)
        except httpx.HTTPError:
            return None

    async def settings_page(request: Request, person: Person, *, errors: dict[str, str] | None = None,
                            values: dict[str, str] | None = None, status_code: int = 200) -> Response:
        answer = await call(request, person, "GET", "identity", "/api/v1/auth/sessions")
        sessions = None
        if answer is not None and answer.status_code == 200:
            sessions = [{**s, "device": device_of(s.get("user_agent"))} for s in answer.json().get("items") or []]
        values = {"name": person.name, "timezone": person.timezone, **(values or {})}
        chosen = values["timezone"]
        choices = zone_choices(datetime.now(UTC).date())
        known = any(chosen == name for _, zones in choices for name, _ in zones)
        return page(request, "settings.html", person, title="Settings", errors=errors or {}, sessions=sessions,
                    zones=choices if known else [("", [(chosen, chosen)]), *choices], values=values,
                    password_hint=PASSWORD_HINT, status_code=status_code)

    @router.get("/settings")
    async def settings(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return await settings_page(request, person)

    @router.post("/settings/profile")
    async def save_profile(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        values = {"name": text(form, "name"), "timezone": text(form, "timezone")}
        errors = {k: v for k, v in {"name": "" if values["name"] else "Enter your name",
                                    "timezone": "" if values["timezone"] else "Choose your time zone"}.items() if v}
        if errors:
            return await settings_page(request, person, errors=errors, values=values, status_code=422)
        answer = await call(request, person, "PATCH", "identity", "/api/v1/me", values)
        if answer is not None and answer.status_code == 200:
            return redirect("/settings", notice="settings_saved")
        if answer is None or answer.status_code >= 500:
            return await settings_page(request, person, errors={"_service": UNAVAILABLE}, values=values,
                                       status_code=503)
        return await settings_page(request, person, values=values, status_code=refused_status(answer),
                                   errors=field_errors(answer, PROFILE_FIELDS, "timezone"))

    @router.post("/settings/timezone")
    async def use_time_zone(request: Request) -> Response:
        """The browser's zone, offered on any page to someone still on the UTC default."""
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        zone, back = text(form, "zone"), text(form, "next")
        answer = await call(request, person, "PATCH", "identity", "/api/v1/me", {"timezone": zone})
        if answer is not None and answer.status_code == 200:
            return redirect(local_path(back), notice="timezone_saved")
        return await settings_page(request, person, values={"timezone": zone},
                                   status_code=503 if answer is None or answer.status_code >= 500
                                   else refused_status(answer),
                                   errors={"_service": UNAVAILABLE} if answer is None or answer.status_code >= 500
                                   else field_errors(answer, PROFILE_FIELDS, "timezone"))

    @router.post("/settings/password")
    async def change_password(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        current, new = text(form, "current_password", strip=False), text(form, "new_password", strip=False)
        errors = {k: v for k, v in {
            "current_password": "" if current else "Enter your current password",
            "new_password": password_problem(new, empty="Choose a new password") or ""}.items() if v}
        if errors:
            return await settings_page(request, person, errors=errors, status_code=422)
        answer = await call(request, person, "POST", "identity", "/api/v1/auth/password-change",
                            {"current_password": current, "new_password": new})
        if answer is not None and answer.status_code == 204:
            return redirect("/settings", notice="password_updated")
        if answer is None or answer.status_code >= 500:
            return await settings_page(request, person, errors={"_service": UNAVAILABLE}, status_code=503)
        if answer.status_code == 403:
            errors = {"current_password": "Your current password is not right. Check it and try again."}
        elif answer.status_code == 429:
            errors = {"current_password": error_of(answer)["message"]}
        else:
            errors = field_errors(answer, {
                "current_password": "Enter your current password",
                "new_password": f"Use at least {MIN_PASSWORD_LENGTH} characters for your new password"},
                "new_password")
        return await settings_page(request, person, errors=errors, status_code=refused_status(answer))

    @router.post("/settings/sessions/{session_id}/revoke")
    async def revoke_session(request: Request, session_id: str) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        if not is_uuid(session_id) or session_id == person.session_id:
            return redirect("/settings")  # this browser's session ends with "Sign out"
        answer = await call(request, person, "DELETE", "identity", f"/api/v1/auth/sessions/{session_id}")
        if answer is not None and answer.status_code in (204, 404):
            # 404: it had ended already, which is what was asked.
            return redirect("/settings", notice="session_revoked")
        return await settings_page(request, person, errors={"_service": UNAVAILABLE}, status_code=503)

    # --- your data -------------------------------------------------------------------------------

    async def accounts_of(request: Request, person: Person) -> list[dict[str, Any]] | None:
        answer = await call(request, person, "GET", "connector", "/api/v1/accounts")
        if answer is None or answer.status_code != 200:
            return None
        return [{**a, "label": f"{a.get('name') or a.get('username') or a.get('external_id')} "
                               f"({platform_name(a.get('platform'))})"}
                for a in answer.json().get("items") or [] if a.get("status") != "disconnected"]

    async def delete_connections_page(request: Request, person: Person, *, errors: dict[str, str] | None = None,
                                      status_code: int = 200) -> Response:
        return page(request, "delete_connections.html", person, title="Delete your connected accounts",
                    accounts=await accounts_of(request, person), errors=errors or {}, status_code=status_code)

    @router.get("/settings/delete-connections")
    async def delete_connections_confirmation(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return await delete_connections_page(request, person)

    @router.post("/settings/delete-connections")
    async def delete_connections(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        answer = await call(request, person, "POST", "privacy", "/api/v1/privacy/deletion-requests",
                            {"scope": "connections"})
        if answer is not None and answer.status_code == 202:
            return redirect(status_path(answer.json()))
        problem = UNAVAILABLE if answer is None or answer.status_code >= 500 else error_of(answer)["message"]
        return await delete_connections_page(request, person, errors={"_service": problem},
                                             status_code=503 if answer is None else refused_status(answer))

    def delete_account_page(request: Request, person: Person, *, errors: dict[str, str] | None = None,
                            status_code: int = 200) -> Response:
        return page(request, "delete_account.html", person, title="Delete your Postifys account",
                    errors=errors or {}, status_code=status_code)

    @router.get("/settings/delete-account")
    async def delete_account_confirmation(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return delete_account_page(request, person)

    @router.post("/settings/delete-account")
    async def delete_account(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        password = text(await request.form(), "password", strip=False)
        if not password:
            return delete_account_page(request, person, errors={"password": "Enter your password"}, status_code=422)
        answer = await call(request, person, "POST", "privacy", "/api/v1/privacy/deletion-requests",
                            {"scope": "account", "password": password})
        if answer is not None and answer.status_code == 202:
            # Privacy has ended every session of the account: the browser forgets its cookie too.
            response = redirect(status_path(answer.json()))
            response.delete_cookie(deps.settings.session_cookie_name, path="/", httponly=True, samesite="lax",
                                   secure=deps.settings.is_production)
            return response
        if answer is None or answer.status_code >= 500:
            return delete_account_page(request, person, errors={"_service": UNAVAILABLE}, status_code=503)
        if answer.status_code == 403:
            errors = {"password": "Your password is not right. Check it and try again."}
        else:
            errors = field_errors(answer, {"password": "Enter your password"}, "password")
        return delete_account_page(request, person, errors=errors, status_code=refused_status(answer))
