"""How a post from the publisher's API is read for the screens: when it is due, one status for the whole post,
the start of its caption, and what a person can do about a failed target. Plain functions over the API's JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.gateway.web.formatting import FINAL_STATUSES, parse_instant

NOT_STARTED = frozenset({"draft", "scheduled"})
STATUSES = ("draft", "scheduled", "queued", "publishing", "processing", "unknown", "published", "failed",
            "cancelled")


def due_at(post: dict[str, Any]) -> datetime | None:
    """When the post goes (or went) out, as the publisher answers it (the calendar's and the list's order); null for
    a draft given no time."""
    if "due_at" in post:
        return parse_instant(post["due_at"])
    if post.get("scheduled_at"):
        return parse_instant(post["scheduled_at"])
    if post.get("draft"):
        return None
    dues = [parse_instant(t["due_at"]) for t in post.get("targets", []) if t.get("due_at")]
    return min((d for d in dues if d), default=parse_instant(post.get("created_at")))


def overall_status(post: dict[str, Any]) -> str:
    """One status for a post in a calendar: draft, scheduled, in progress, or how it ended (failed wins)."""
    statuses = {t["status"] for t in post.get("targets", [])}
    if post.get("draft") or statuses == {"draft"}:
        return "draft"
    if statuses and statuses <= FINAL_STATUSES:
        return next(s for s in ("failed", "published", "cancelled") if s in statuses)
    return "scheduled" if statuses <= {"scheduled"} else "in_progress"


# Only the media service's own thumbnail route is shown: the page's CSP allows images from 'self' for it.
THUMBNAIL = re.compile(r"^/api/v1/media/[0-9a-fA-F-]{36}/thumbnail$")


@dataclass(frozen=True)
class Thumbnail:
    url: str
    alt: str
    kind: str


def thumbnails(post: dict[str, Any], most: int | None = None) -> list[Thumbnail]:
    """The post's library media as small pictures, each with its description (or which item it is)."""
    found = []
    for n, item in enumerate(post.get("media") or [], 1):
        url = str(item.get("thumbnail_url") or "")
        if THUMBNAIL.match(url):
            kind = "video" if item.get("type") == "video" else "image"
            alt = str(item.get("alt_text") or "").strip() or f"{kind.capitalize()} {n} of the post"
            found.append(Thumbnail(url=url, alt=alt, kind=kind))
    return found[:most] if most is not None else found


def caption_start(caption: str | None, most: int = 120) -> str:
    text = " ".join((caption or "").split())
    if len(text) <= most:
        return text
    cut = text[:most].rsplit(" ", 1)[0] if " " in text[:most] else text[:most]
    return cut.rstrip(",.;:!?-") + "…"


def pending(post: dict[str, Any]) -> bool:
    """Something may still change on its own (a draft waits for its author, not for time)."""
    return any(t["status"] not in FINAL_STATUSES and t["status"] != "draft" for t in post.get("targets", []))


def changeable(post: dict[str, Any]) -> bool:
    """Edit and cancel are offered while no target has started, as the publisher allows."""
    targets = post.get("targets", [])
    return bool(targets) and all(t["status"] in NOT_STARTED for t in targets)


def step_name(step: str | None) -> str:
    return (step or "").replace("_", " ").capitalize()


@dataclass(frozen=True)
class Advice:
    """What went wrong in a sentence, and what the person can do next."""

    explanation: str
    reconnect: bool = False
    retry: bool = True
    check_platform: bool = False


ADVICE = {
    "reconnect_required": Advice("The platform no longer accepts Postifys for this account.", reconnect=True),
    "platform_refused_token": Advice("The platform kept refusing this account's authorization.", reconnect=True),
    "account_unusable": Advice("This account cannot be published to from Postifys right now.", reconnect=True),
    "platform_unavailable": Advice("The platform kept failing while Postifys tried to publish."),
    "timeout": Advice("The platform took too long to finish this post."),
    "internal_error": Advice("Postifys ran into a problem of its own and stopped trying; it has been logged."),
    "media_unusable": Advice("Postifys could not use the media: check that each file is still reachable at its "
                             "address and in a format this platform takes."),
    "validation": Advice("The post does not meet this platform's rules.", retry=False),
    "platform_rejected": Advice("The platform refused this post."),
    "outcome_unknown": Advice("Postifys could not tell whether the platform published this post.",
                              check_platform=True),
}
UNKNOWN_FAILURE = Advice("Publishing to this account failed.")


def advice_for(target: dict[str, Any]) -> Advice:
    advice = ADVICE.get(target.get("error_class") or "", UNKNOWN_FAILURE)
    if target.get("needs_review") and not advice.check_platform:
        return Advice(advice.explanation, reconnect=advice.reconnect, retry=advice.retry, check_platform=True)
    return advice
