"""Settings, the profile: the person's name and time zone, and their email address (its confirmation, and changing
it: the new address is confirmed before it replaces the old)."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web.auth import EMAIL_FORMAT, UNAVAILABLE, field_errors, local_path, refused_status, text
from services.gateway.web.context import Person, error_of, redirect, sign_in_first
from services.gateway.web.deps import WebDeps
from services.gateway.web.settings_pages import call, ok, refusal, settings_page
from shared.validation import valid_zone

# Legacy and POSIX aliases (`US/Eastern`, `Etc/GMT+5`, `posixrules`) are left out of the choice, not refused.
ZONE_REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
                "Pacific")
PROFILE_FIELDS = {"name": "Enter your name, up to 100 characters", "timezone": "Choose a time zone from the list"}
EMAIL_FIELDS = {"new_email": EMAIL_FORMAT, "password": "Enter your password"}


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


def zone_problem(zone: str) -> str:
    if not zone:
        return "Choose your time zone"
    if not valid_zone(zone):
        return (f"“{zone}” is not a time zone we know. Type a city's name, like Europe/Paris, and choose it "
                "from the list.")
    return ""


def register(router: APIRouter, deps: WebDeps) -> None:
    async def profile_page(request: Request, person: Person, *, errors: dict[str, str] | None = None,
                           values: dict[str, str] | None = None, status_code: int = 200) -> Response:
        me = await call(deps, request, person, "GET", "identity", "/api/v1/me")
        pending = me.json().get("pending_email") if ok(me, 200) and me is not None else None
        values = {"name": person.name, "timezone": person.timezone, "new_email": "", **(values or {})}
        return settings_page(request, "/settings", "profile.html", person, title="Profile", errors=errors or {},
                             zones=zone_choices(datetime.now(UTC).date()), values=values,
                             pending_email=pending, status_code=status_code)

    def refused(answer: Any) -> int:
        return 503 if answer is None else refused_status(answer)

    @router.get("/settings")
    async def settings(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        return await profile_page(request, person)

    @router.post("/settings/profile")
    async def save_profile(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        values = {"name": text(form, "name"), "timezone": text(form, "timezone")}
        errors = {k: v for k, v in {"name": "" if values["name"] else "Enter your name",
                                    "timezone": zone_problem(values["timezone"])}.items() if v}
        if errors:
            return await profile_page(request, person, errors=errors, values=values, status_code=422)
        answer = await call(deps, request, person, "PATCH", "identity", "/api/v1/me", body=values)
        if ok(answer, 200):
            return redirect("/settings", notice="settings_saved")
        if answer is None or answer.status_code >= 500:
            return await profile_page(request, person, errors={"_service": UNAVAILABLE}, values=values,
                                      status_code=503)
        return await profile_page(request, person, values=values, status_code=refused_status(answer),
                                  errors=field_errors(answer, PROFILE_FIELDS, "timezone"))

    @router.post("/settings/timezone")
    async def use_time_zone(request: Request) -> Response:
        """The browser's zone, offered on any page to someone still on the UTC default."""
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        zone, back = text(form, "zone"), text(form, "next")
        answer = await call(deps, request, person, "PATCH", "identity", "/api/v1/me", body={"timezone": zone})
        if ok(answer, 200):
            return redirect(local_path(back), notice="timezone_saved")
        return await profile_page(request, person, values={"timezone": zone}, status_code=refused(answer),
                                  errors={"_service": UNAVAILABLE} if answer is None or answer.status_code >= 500
                                  else field_errors(answer, PROFILE_FIELDS, "timezone"))

    @router.post("/settings/email")
    async def change_email(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        form = await request.form()
        new_email, password = text(form, "new_email"), text(form, "password", strip=False)
        errors = {k: v for k, v in {"new_email": "" if new_email else "Enter your new email address",
                                    "password": "" if password else "Enter your password"}.items() if v}
        if errors:
            return await profile_page(request, person, errors=errors, values={"new_email": new_email},
                                      status_code=422)
        answer = await call(deps, request, person, "POST", "identity", "/api/v1/me/email",
                            body={"new_email": new_email, "password": password})
        if ok(answer, 202):
            return redirect("/settings", notice="email_change_sent")
        if answer is None or answer.status_code >= 500:
            errors = {"_service": UNAVAILABLE}
        elif answer.status_code == 403:
            errors = {"password": "Your password is not right. Check it and try again."}
        elif answer.status_code == 429:
            errors = {"new_email": error_of(answer)["message"]}
        else:
            errors = field_errors(answer, EMAIL_FIELDS, "new_email")
        return await profile_page(request, person, errors=errors, values={"new_email": new_email},
                                  status_code=refused(answer))

    @router.post("/settings/email/cancel")
    async def cancel_email_change(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        answer = await call(deps, request, person, "DELETE", "identity", "/api/v1/me/email/pending")
        if ok(answer, 204):
            return redirect("/settings", notice="email_change_cancelled")
        errors, status = refusal(answer)
        return await profile_page(request, person, errors=errors, status_code=status)

    @router.post("/settings/email/resend")
    async def resend_confirmation(request: Request) -> Response:
        """The banner's and the profile's "Send it again": to the signed-in person's own address."""
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        back = local_path(text(await request.form(), "next") or "/settings").split("?")[0]
        answer = await call(deps, request, person, "POST", "identity", "/api/v1/auth/resend-verification",
                            body={"email": person.email})
        if ok(answer, 202):
            return redirect(back, notice="confirmation_sent")
        problem = UNAVAILABLE if answer is None or answer.status_code >= 500 else error_of(answer)["message"]
        return await profile_page(request, person, errors={"_service": problem}, status_code=refused(answer))
