"""How times, platforms and statuses are shown: the person's own IANA zone, plain words."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment

PLATFORM_NAMES = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok"}
STATUS_NAMES = {
    "draft": "Draft", "scheduled": "Scheduled", "queued": "Queued", "publishing": "Publishing",
    "processing": "Processing", "unknown": "Checking", "published": "Published", "failed": "Failed",
    "cancelled": "Cancelled", "completed": "Completed", "in_progress": "In progress",
}
FINAL_STATUSES = frozenset({"published", "failed", "cancelled"})


@functools.lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_instant(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local(value: str | datetime | None, timezone: str | None) -> datetime | None:
    moment = parse_instant(value)
    return moment.astimezone(zone(timezone)) if moment else None


def local_time(value: str | datetime | None, timezone: str | None, pattern: str = "%a %-d %b %Y, %H:%M") -> str:
    moment = local(value, timezone)
    return moment.strftime(pattern) if moment else ""


def utc_time(value: str | datetime | None) -> str:
    moment = parse_instant(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def iso(value: str | datetime | None) -> str:
    moment = parse_instant(value)
    return moment.astimezone(UTC).isoformat() if moment else ""


def platform_name(platform: str | None) -> str:
    return PLATFORM_NAMES.get(platform or "", platform or "")


def status_name(status: str | None) -> str:
    return STATUS_NAMES.get(status or "", (status or "").replace("_", " ").capitalize())


def install(env: Environment) -> None:
    filters: dict[str, Any] = {"local_time": local_time, "utc_time": utc_time, "iso": iso,
                               "platform_name": platform_name, "status_name": status_name}
    env.filters.update(filters)
    env.globals["FINAL_STATUSES"] = FINAL_STATUSES
