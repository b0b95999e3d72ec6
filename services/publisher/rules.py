"""Publishing rules, free of frameworks: what each platform accepts, when a post is due, how a failure is
treated. Every refusal names the target and the rule, in words for the person who wrote the post."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from shared.validation import time_problem, valid_zone

DRAFT, SCHEDULED, QUEUED, PUBLISHING, PROCESSING, UNKNOWN = (
    "draft", "scheduled", "queued", "publishing", "processing", "unknown")
PUBLISHED, FAILED, CANCELLED = "published", "failed", "cancelled"
FINAL = frozenset({PUBLISHED, FAILED, CANCELLED})
ACTIVE = frozenset({SCHEDULED, QUEUED, PUBLISHING, PROCESSING, UNKNOWN})
STATUSES = (DRAFT, SCHEDULED, QUEUED, PUBLISHING, PROCESSING, UNKNOWN, PUBLISHED, FAILED, CANCELLED)

MAX_TRANSIENT_ATTEMPTS = 6
HASHTAG = re.compile(r"(?<!\w)#\w+")
MENTION = re.compile(r"(?<![\w@])@[\w.]+")
TIKTOK_PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")


@dataclass(frozen=True)
class Media:
    url: str
    type: str  # image | video
    alt_text: str | None = None
    duration_sec: float | None = None

    @property
    def extension(self) -> str:
        path = urlsplit(self.url).path.lower()
        return path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""


@dataclass
class Problems:
    """Validation failures, each naming the target (or the post) and the rule."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, rule: str, message: str, *, target: int | None = None, account_id: str | None = None) -> None:
        self.items.append({"target": target, "account_id": account_id, "rule": rule, "message": message})

    def __bool__(self) -> bool:
        return bool(self.items)


def due_time(scheduled_at: datetime | None, timezone: str | None, now: datetime) -> datetime:
    """When a post is due, in UTC. A wall-clock time with no offset is read in the post's IANA time zone;
    a time that does not exist there (skipped by a DST change) is refused, an ambiguous one takes the first."""
    if scheduled_at is None:
        return now
    if problem := time_problem(scheduled_at):  # bounded, so converting it between zones cannot overflow
        raise ValueError(f"scheduled_at {problem}.")
    if scheduled_at.tzinfo is None:
        if not valid_zone(timezone or "UTC"):
            raise ValueError(f"{timezone} is not an IANA time zone name.")
        zone = ZoneInfo(timezone or "UTC")
        local = scheduled_at.replace(tzinfo=zone, fold=0)
        round_trip = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != scheduled_at:
            raise ValueError(f"{scheduled_at:%Y-%m-%d %H:%M} does not exist in {timezone}: the clocks skip it.")
        return local.astimezone(UTC)
    return scheduled_at.astimezone(UTC)


@dataclass(frozen=True)
class Setting:
    """What one per-target setting takes: a flag, a whole number from 0 to `most`, or text of at most `most`
    characters (an http(s) URL when `url`)."""

    kind: type
    most: int = 0
    url: bool = False


FLAG = Setting(bool)
LONGEST_VIDEO_MS = 36000 * 1000  # a video is at most 10 hours (the media's duration_sec bound)
URL = Setting(str, 2048, url=True)

# Only what each platform's pipeline sends; anything else is refused rather than silently dropped.
PLATFORM_SETTINGS: dict[str, dict[str, Setting]] = {
    "facebook": {"link": URL, "title": Setting(str, 255)},
    "instagram": {"media_type": Setting(str, 16), "share_to_feed": FLAG, "cover_url": URL,
                  "thumb_offset": Setting(int, LONGEST_VIDEO_MS)},
    "tiktok": {"title": Setting(str, 2200), "privacy_level": Setting(str, 64), "post_mode": Setting(str, 16),
               "video_cover_timestamp_ms": Setting(int, LONGEST_VIDEO_MS), "photo_cover_index": Setting(int, 34),
               **dict.fromkeys(("allow_comment", "allow_duet", "allow_stitch", "brand_content_toggle",
                                "brand_organic_toggle", "is_aigc", "auto_add_music"), FLAG)},
}


def check_settings(p: Problems, i: int, account: str, platform: str, settings: dict[str, Any]) -> bool:
    """Each setting applies to the target's platform and has its type and bounds; the platform's own rules
    read them only when this holds (True)."""
    known = PLATFORM_SETTINGS.get(platform, {})
    before = len(p.items)
    for key, value in settings.items():
        setting = known.get(key)
        if setting is None:
            p.add("unknown_setting", f"{key} is not a {platform.capitalize()} setting.", target=i,
                  account_id=account)
        elif setting.kind is bool and not isinstance(value, bool):
            p.add("setting_type", f"{key} must be true or false.", target=i, account_id=account)
        elif setting.kind is int and (not isinstance(value, int) or isinstance(value, bool)
                                      or not 0 <= value <= setting.most):
            p.add("setting_type", f"{key} must be a whole number from 0 to {setting.most}.", target=i,
                  account_id=account)
        elif setting.kind is str and (not isinstance(value, str) or len(value) > setting.most):
            p.add("setting_type", f"{key} must be text of at most {setting.most} characters.", target=i,
                  account_id=account)
        elif setting.url and not _web_url(value):
            p.add("setting_url", f"{key} must be an http(s) URL.", target=i, account_id=account)
    return len(p.items) == before


def _web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def facebook_format(media: list[Media]) -> str:
    kinds = {m.type for m in media}
    if not media:
        return "text"
    if kinds == {"video"}:
        return "video"
    return "photo" if len(media) == 1 else "photos"


def instagram_format(media: list[Media], settings: dict[str, Any]) -> str:
    if settings.get("media_type") == "STORIES":
        return "story"
    if len(media) > 1:
        return "carousel"
    return "reel" if media and media[0].type == "video" else "image"


def check_facebook(p: Problems, i: int, account: str, caption: str, media: list[Media],
                   settings: dict[str, Any]) -> None:
    kinds = {m.type for m in media}
    if len(kinds) > 1:
        p.add("facebook_mixed_media", "A Facebook Page post takes photos or one video, not both.", target=i,
              account_id=account)
    if "video" in kinds and len(media) > 1:
        p.add("facebook_one_video", "A Facebook Page post takes one video at a time.", target=i, account_id=account)
    if len(media) > 10:
        p.add("facebook_too_many_photos", "A Facebook Page post takes at most 10 photos.", target=i,
              account_id=account)
    if not caption and not media and not settings.get("link"):
        p.add("facebook_empty", "A Facebook Page post needs text, a link, photos or a video.", target=i,
              account_id=account)


def check_instagram(p: Problems, i: int, account: str, caption: str, media: list[Media],
                    settings: dict[str, Any]) -> None:
    kind = instagram_format(media, settings)
    if settings.get("media_type") not in (None, "FEED", "REELS", "STORIES"):
        p.add("instagram_media_type", "Instagram media_type is FEED, REELS or STORIES.", target=i, account_id=account)
    if not media:
        p.add("instagram_needs_media", "Instagram needs an image or a video.", target=i, account_id=account)
    if kind == "carousel" and not 2 <= len(media) <= 10:
        p.add("instagram_carousel_size", f"An Instagram carousel takes 2 to 10 items, not {len(media)}.",
              target=i, account_id=account)
    if kind == "story" and len(media) != 1:
        p.add("instagram_story_single", "An Instagram story takes exactly one image or video.", target=i,
              account_id=account)
    if settings.get("media_type") == "REELS" and (len(media) != 1 or media[0].type != "video"):
        p.add("instagram_reel_video", "An Instagram reel takes exactly one video.", target=i, account_id=account)
    for m in media:
        if m.type == "image" and m.extension not in ("jpg", "jpeg"):
            p.add("instagram_jpeg_only", f"Instagram only takes JPEG images; {m.url} is not a .jpg.", target=i,
                  account_id=account)
    if len(caption) > 2200:
        p.add("instagram_caption_length", f"Instagram captions are at most 2,200 characters ({len(caption)}).",
              target=i, account_id=account)
    if len(HASHTAG.findall(caption)) > 30:
        p.add("instagram_hashtags", "Instagram allows at most 30 hashtags.", target=i, account_id=account)
    if len(MENTION.findall(caption)) > 20:
        p.add("instagram_mentions", "Instagram allows at most 20 @mentions.", target=i, account_id=account)


def check_tiktok(p: Problems, i: int, account: str, caption: str, media: list[Media], settings: dict[str, Any],
                 creator: dict[str, Any] | None) -> None:
    kinds = {m.type for m in media}
    photo = kinds == {"image"}
    if not media or len(kinds) > 1 or ("video" in kinds and len(media) != 1):
        p.add("tiktok_media", "TikTok takes one video, or 1 to 35 photos.", target=i, account_id=account)
    if photo and len(media) > 35:
        p.add("tiktok_photo_count", "TikTok photo posts take at most 35 images.", target=i, account_id=account)
    if photo and any(m.extension not in ("jpg", "jpeg", "webp") for m in media):
        p.add("tiktok_photo_format", "TikTok photos must be JPEG or WebP.", target=i, account_id=account)
    privacy = settings.get("privacy_level")
    options = list((creator or {}).get("privacy_level_options") or [])
    if not privacy:
        p.add("tiktok_privacy_required", "Choose who can see this TikTok post (privacy_level); there is no default.",
              target=i, account_id=account)
    elif privacy not in TIKTOK_PRIVACY:
        p.add("tiktok_privacy_level", f"privacy_level is one of {', '.join(TIKTOK_PRIVACY)}.", target=i,
              account_id=account)
    elif creator is not None and privacy not in options:
        p.add("tiktok_privacy_not_offered", f"This creator can post with {', '.join(options)}, not {privacy}.",
              target=i, account_id=account)
    for toggle, disabled in (("allow_comment", "comment_disabled"), ("allow_duet", "duet_disabled"),
                             ("allow_stitch", "stitch_disabled")):
        if settings.get(toggle) and (creator or {}).get(disabled):
            p.add(f"tiktok_{toggle}", f"This creator has turned off {toggle.removeprefix('allow_')}s on TikTok.",
                  target=i, account_id=account)
        if photo and toggle in ("allow_duet", "allow_stitch") and settings.get(toggle):
            p.add(f"tiktok_{toggle}_photo", "Duet and stitch do not apply to photo posts.", target=i,
                  account_id=account)
    if settings.get("brand_content_toggle") and privacy == "SELF_ONLY":
        p.add("tiktok_branded_private", "Branded content cannot be private (SELF_ONLY).", target=i, account_id=account)
    max_duration = (creator or {}).get("max_video_post_duration_sec")
    for m in media:
        if m.type == "video" and max_duration and m.duration_sec and m.duration_sec > max_duration:
            p.add("tiktok_duration", f"This video is {m.duration_sec:g} s; the creator can post at most "
                                     f"{max_duration} s.", target=i, account_id=account)
    if settings.get("post_mode", "direct") not in ("direct", "inbox"):
        p.add("tiktok_post_mode", "post_mode is direct or inbox.", target=i, account_id=account)
    if photo and settings.get("photo_cover_index", 0) >= len(media):
        p.add("tiktok_photo_cover_index", f"photo_cover_index counts from 0 and names one of the {len(media)} photos.",
              target=i, account_id=account)
    if photo and len(settings.get("title") or caption[:90]) > 90:
        p.add("tiktok_photo_title", "TikTok photo titles are at most 90 characters.", target=i, account_id=account)
    if len(caption) > 2200:
        p.add("tiktok_caption_length", "TikTok captions are at most 2,200 characters.", target=i, account_id=account)


# --- failures --------------------------------------------------------------------------------------------

RETRY = "retry"
REAUTH = "reauth"
PERMANENT = "permanent"
RATE_LIMITED = "rate_limited"

GRAPH_RATE_LIMIT = {4, 17, 32, 613} | set(range(80000, 80015))


def classify(*, platform: str, code: Any, transient: bool, token_invalid: bool, status: int | None) -> str:
    if token_invalid:
        return REAUTH
    if code in GRAPH_RATE_LIMIT or code == "rate_limit_exceeded" or status == 429:
        return RATE_LIMITED
    if transient or (status is not None and status >= 500) or code in (1, 2, -1, "internal_error"):
        return RETRY
    return PERMANENT


def backoff(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> timedelta:
    """Exponential backoff with full jitter."""
    return timedelta(seconds=random.uniform(base / 2, min(cap, base * 2 ** max(attempt - 1, 0))))  # noqa: S311


def usage_percent(headers: dict[str, str]) -> tuple[float, float]:
    """Highest percentage in Graph's usage headers, and the minutes Graph says to wait (0 when none)."""
    highest, regain = 0.0, 0.0
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage"):
        raw = headers.get(name)
        if raw:
            try:
                values = json.loads(raw)
                highest = max([highest, *(float(v) for k, v in values.items()
                                          if k in ("call_count", "total_time", "total_cputime"))])
            except (ValueError, AttributeError, TypeError):
                pass
    raw = headers.get("x-business-use-case-usage")
    if raw:
        try:
            for entries in json.loads(raw).values():
                for entry in entries:
                    highest = max([highest, *(float(entry.get(k, 0)) for k in
                                              ("call_count", "total_time", "total_cputime"))])
                    regain = max(regain, float(entry.get("estimated_time_to_regain_access") or 0))
        except (ValueError, AttributeError, TypeError):
            pass
    return highest, regain
