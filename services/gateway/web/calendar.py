"""The calendar: a month or a week of posts in the person's time zone, each placed on its due time, with a way to
write a new post for any day or hour to come."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web import calendar_grid, post_view
from services.gateway.web.calendar_grid import Span
from services.gateway.web.context import Person, page, sign_in_first
from services.gateway.web.deps import WebDeps

PAGE_LIMIT = 100
MOST_PAGES = 10  # a thousand posts in one month or week is more than a calendar can show anyway
DEFAULT_HOUR = 9


@dataclass(frozen=True)
class Entry:
    """A post as the calendar shows it."""

    id: str
    due: datetime
    time: str
    caption: str
    status: str
    thumbnail: post_view.Thumbnail | None = None


@dataclass(frozen=True)
class Fetched:
    entries: list[Entry]
    complete: bool
    failed: bool


def register(router: APIRouter, deps: WebDeps) -> None:
    @router.get("/calendar")
    async def calendar_page(request: Request) -> Response:
        person = await deps.person(request)
        if person is None:
            return sign_in_first(request)
        zone = person.zone
        now = datetime.now(UTC)
        today = now.astimezone(zone).date()
        view = "week" if request.query_params.get("view") == "week" else "month"
        day = calendar_grid.parse_day(request.query_params.get("date")) or today
        shown = calendar_grid.week_of(day, zone) if view == "week" else calendar_grid.month_of(day, zone)
        fetched = await fetch_entries(request, person, shown)
        context: dict[str, Any] = {"view": view, "day": day, "today": today, "fetched": fetched,
                                   "pager": navigation(view, day, today), "weekdays": calendar_grid.WEEKDAY_NAMES}
        if view == "week":
            context.update(week_context(shown, fetched.entries, zone, now))
        else:
            context.update(month_context(day, shown, fetched.entries, zone, now, today))
        return page(request, "calendar.html", person, title=f"Calendar: {context['caption']}",
                    status_code=503 if fetched.failed else 200, **context)

    async def fetch_entries(request: Request, person: Person, shown: Span) -> Fetched:
        """Every post due in the span, following the cursor up to a cap."""
        entries: list[Entry] = []
        cursor: str | None = None
        for _ in range(MOST_PAGES):
            try:
                answer = await deps.upstream().call(request, person, "GET", "publisher", "/api/v1/posts", params={
                    "sort": "due", "due_from": shown.starts_at.isoformat(), "due_to": shown.ends_at.isoformat(),
                    "limit": PAGE_LIMIT, "cursor": cursor})
            except httpx.HTTPError:
                return Fetched(entries, complete=False, failed=True)
            if answer.status_code != 200:
                return Fetched(entries, complete=False, failed=True)
            body = answer.json()
            entries += [entry for post in body["items"] if (entry := entry_of(post, shown, person.zone))]
            cursor = body.get("next_cursor")
            if not cursor:
                return Fetched(sorted(entries, key=lambda e: e.due), complete=True, failed=False)
        return Fetched(sorted(entries, key=lambda e: e.due), complete=False, failed=False)


def entry_of(post: dict[str, Any], shown: Span, zone: ZoneInfo) -> Entry | None:
    due = post_view.due_at(post)
    if due is None or not shown.holds(due):
        return None
    pattern = "%H:%M %Z" if calendar_grid.repeated(due, zone) else "%H:%M"
    return Entry(id=str(post["id"]), due=due, time=due.astimezone(zone).strftime(pattern),
                 caption=post_view.caption_start(post.get("caption"), 60) or "Post without a caption",
                 status=post_view.overall_status(post), thumbnail=next(iter(post_view.thumbnails(post, 1)), None))


def compose_link(local: datetime) -> str:
    return "/compose?" + urlencode({"at": local.strftime("%Y-%m-%dT%H:%M")})


def calendar_link(view: str, day: date | None) -> str:
    params = {"view": view} if view == "week" else {}
    if day is not None:
        params["date"] = day.isoformat()
    return "/calendar" + (f"?{urlencode(params)}" if params else "")


def navigation(view: str, day: date, today: date) -> dict[str, Any]:
    """The links around `day`; none to a month or week holding no date a person can give."""
    if view == "week":
        before, after, unit = day - timedelta(days=7), day + timedelta(days=7), "week"
    else:
        before, after, unit = calendar_grid.previous_month(day), calendar_grid.next_month(day), "month"
    before, after = calendar_grid.clamped(before), calendar_grid.clamped(after)
    return {"previous": None if _same_span(view, before, day) else calendar_link(view, before),
            "next": None if _same_span(view, after, day) else calendar_link(view, after), "unit": unit,
            "today": calendar_link(view, None), "month": calendar_link("month", day),
            "week": calendar_link("week", day), "showing_today": _same_span(view, day, today)}


def _same_span(view: str, day: date, today: date) -> bool:
    if view == "week":
        return day - timedelta(days=day.weekday()) == today - timedelta(days=today.weekday())
    return (day.year, day.month) == (today.year, today.month)


def month_context(day: date, shown: Span, entries: list[Entry], zone: ZoneInfo, now: datetime, today: date
                  ) -> dict[str, Any]:
    by_day: dict[date, list[Entry]] = {}
    for entry in entries:
        by_day.setdefault(entry.due.astimezone(zone).date(), []).append(entry)
    next_hour = (now.astimezone(zone) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    new_post: dict[date, str] = {}
    for d in filter(calendar_grid.allowed, shown.days):
        if d > today:
            new_post[d] = compose_link(datetime(d.year, d.month, d.day, DEFAULT_HOUR))
        elif d == today and next_hour.date() == today:
            new_post[d] = compose_link(next_hour.replace(tzinfo=None))
    return {"caption": day.strftime("%B %Y"), "weeks": calendar_grid.weeks(shown.days), "by_day": by_day,
            "new_post": new_post, "month": day.month}


def week_context(shown: Span, entries: list[Entry], zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    by_slot: dict[tuple[date, int], list[Entry]] = {}
    for entry in entries:
        by_slot.setdefault(calendar_grid.local_slot(entry.due, zone), []).append(entry)
    days = shown.days
    slots: dict[tuple[date, int], str | None] = {}
    skipped: set[tuple[date, int]] = set()
    for d in days:
        for hour in range(24):
            if not calendar_grid.hour_exists(d, hour, zone):
                skipped.add((d, hour))
            elif calendar_grid.allowed(d) and calendar_grid.hour_start(d, hour, zone) > now:
                slots[(d, hour)] = compose_link(datetime(d.year, d.month, d.day, hour))
    first, last = days[0], days[-1]
    caption = (f"Week of {first:%-d %B} to {last:%-d %B %Y}" if first.year == last.year
               else f"Week of {first:%-d %B %Y} to {last:%-d %B %Y}")
    return {"caption": caption, "days": days, "by_slot": by_slot, "new_post": slots, "skipped": skipped,
            "hours": range(24)}
