"""The composer's form, free of frameworks: what was typed (kept whole when the server refuses), the posts API
body it becomes, and the API's refusals mapped back to the fields they concern, in plain words."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, available_timezones

from services.gateway.web import calendar_grid

# --- what each platform takes -----------------------------------------------------------------------------

CAPTION_LIMITS = {"facebook": 63206, "instagram": 2200, "tiktok": 2200}
TIKTOK_PHOTO_TITLE_LIMIT = 90
INSTAGRAM_HASHTAGS, INSTAGRAM_MENTIONS = 30, 20
# Where each platform's feed folds a long caption behind "… more".
PREVIEW_CUT = {"facebook": 480, "instagram": 125, "tiktok": 150}
API_CAPTION_LIMIT = 10000
MAX_MEDIA = 35
EMPTY_MEDIA_ROWS = 4
PLATFORM_ORDER = ("facebook", "instagram", "tiktok")

HASHTAG = re.compile(r"(?<!\w)#\w+")  # the publisher's own patterns (services/publisher/rules.py)
MENTION = re.compile(r"(?<![\w@])@[\w.]+")
MEDIA_URL = re.compile(r"^https?://[^\s]+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
AT = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})$")
VIDEO_EXTENSIONS = ("mp4", "mov", "webm", "m4v")

TIKTOK_PRIVACY_LABELS = {"PUBLIC_TO_EVERYONE": "Everyone",
                         "MUTUAL_FOLLOW_FRIENDS": "Friends (followers you follow back)",
                         "FOLLOWER_OF_CREATOR": "Followers", "SELF_ONLY": "Only me"}
INSTAGRAM_TYPES = {"FEED": "Feed post", "REELS": "Reel", "STORIES": "Story"}
WHEN = ("now", "schedule", "draft")
NOTICE_FOR = {"now": "publishing", "schedule": "scheduled", "draft": "draft_saved"}
SUBMIT_LABELS = {"now": "Publish now", "schedule": "Schedule post", "draft": "Save draft"}


@functools.cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def valid_zone(name: str) -> bool:
    return name in time_zones()


# --- the connected accounts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    id: str
    platform: str
    kind: str
    name: str
    avatar_url: str | None
    status: str
    publishable: bool
    unpublishable_reason: str | None
    provider: str

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Account:
        platform = str(item.get("platform") or "")
        provider = str(item.get("provider") or platform)
        return cls(id=str(item["id"]), platform=platform, kind=str(item.get("kind") or platform),
                   name=str(item.get("name") or item.get("username") or "Unnamed account"),
                   avatar_url=item.get("avatar_url"), status=str(item.get("status") or ""),
                   publishable=bool(item.get("publishable")), unpublishable_reason=item.get("unpublishable_reason"),
                   provider=provider)

    @property
    def kind_label(self) -> str:
        return {"facebook_page": "Facebook Page", "instagram": "Instagram", "tiktok": "TikTok"}.get(
            self.kind, self.platform.capitalize())

    @property
    def reconnect_url(self) -> str | None:
        return f"/api/v1/connections/{self.provider}/start" if self.status == "reauth_required" else None


# --- what was typed ------------------------------------------------------------------------------------------

@dataclass
class MediaRow:
    url: str = ""
    type: str = "image"
    alt: str = ""
    duration: str = ""

    @property
    def empty(self) -> bool:
        return not (self.url.strip() or self.alt.strip() or self.duration.strip())

    @property
    def file_name(self) -> str:
        try:
            path = urlsplit(self.url.strip()).path
        except ValueError:
            return self.url.strip()
        return unquote(path.rsplit("/", 1)[-1]) or self.url.strip()


@dataclass
class LibraryChoice:
    """A file of the person's media library ticked for the post. Its kind and length come with the form (from the
    library's listing), so the settings that depend on them are sent right; the publisher checks the file itself."""

    media_id: str
    kind: str = "image"
    alt: str = ""
    duration: str = ""

    @property
    def thumbnail_url(self) -> str:
        return library_thumbnail(self.media_id)


def library_thumbnail(media_id: str) -> str:
    return f"/api/v1/media/{media_id}/thumbnail"


@dataclass
class TargetForm:
    """One account's settings panel, as typed. Check boxes are off unless ticked."""

    caption: str = ""
    privacy_level: str = ""
    allow_comment: bool = False
    allow_duet: bool = False
    allow_stitch: bool = False
    commercial: bool = False
    brand_organic: bool = False
    brand_content: bool = False
    auto_add_music: bool = False
    title: str = ""
    media_type: str = "FEED"
    link: str = ""


TARGET_FLAGS = ("allow_comment", "allow_duet", "allow_stitch", "commercial", "brand_organic", "brand_content",
                "auto_add_music")
TARGET_TEXT = ("caption", "privacy_level", "title", "media_type", "link")


@dataclass
class ComposeForm:
    token: str
    timezone: str
    caption: str = ""
    media: list[MediaRow] = field(default_factory=list)
    library: list[LibraryChoice] = field(default_factory=list)
    ticked: list[str] = field(default_factory=list)
    targets: dict[str, TargetForm] = field(default_factory=dict)
    when: str = "now"
    date: str = ""
    time: str = ""
    post_id: str | None = None
    action: str = ""
    library_cursor: str = ""

    def target(self, account_id: str) -> TargetForm:
        return self.targets.get(account_id) or TargetForm()

    def used_media(self) -> list[MediaRow]:
        return [m for m in self.media if m.url.strip()]

    @property
    def media_count(self) -> int:
        return len(self.library) + len(self.used_media())

    @property
    def media_kind(self) -> str:
        """photo (every item an image), video (any video) or none: TikTok's panel shows what applies."""
        kinds = [c.kind for c in self.library] + [m.type for m in self.used_media()]
        if not kinds:
            return "none"
        return "photo" if all(k == "image" for k in kinds) else "video"

    def longest_video(self) -> float | None:
        typed = [(m.type, m.duration) for m in self.used_media()] + [(c.kind, c.duration) for c in self.library]
        lengths = [_seconds(duration) for kind, duration in typed if kind == "video" and duration.strip()]
        return max((s for s in lengths if s is not None), default=None)

    def chose(self, media_id: str) -> LibraryChoice | None:
        return next((c for c in self.library if c.media_id == media_id), None)

    @property
    def submit_label(self) -> str:
        return SUBMIT_LABELS.get(self.when, SUBMIT_LABELS["now"])

    def with_rows(self, rows: int) -> ComposeForm:
        media = list(self.media) + [MediaRow() for _ in range(max(0, rows - len(self.media)))]
        return replace(self, media=media)


def field_id(account_id: str, key: str) -> str:
    return f"t-{account_id}-{key}"


def blank(token: str, timezone: str, at: str | None = None) -> ComposeForm:
    """A new post; `at` (YYYY-MM-DDTHH:MM, from the calendar) pre-fills the schedule."""
    form = ComposeForm(token=token, timezone=timezone, media=[MediaRow() for _ in range(EMPTY_MEDIA_ROWS)])
    match = AT.match(at or "")
    if match and _local(match.group(1), match.group(2)) is not None and calendar_grid.parse_day(match.group(1)):
        form.when, form.date, form.time = "schedule", match.group(1), match.group(2)
    return form


def parse(pairs: Iterable[tuple[str, str]], *, default_zone: str) -> ComposeForm:
    """The submitted form, every value kept as typed (a refused form comes back with all of it)."""
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value if isinstance(value, str) else "")

    def one(key: str, default: str = "") -> str:
        return values.get(key, [default])[0]

    rows: dict[int, MediaRow] = {}
    targets: dict[str, TargetForm] = {}
    library = {media_id: LibraryChoice(media_id) for media_id in values.get("library", []) if _is_uuid(media_id)}
    for key in values:
        if match := re.fullmatch(r"library-([0-9a-f-]{36})-(kind|alt|duration)", key):
            if (choice := library.get(match.group(1))) is not None:
                setattr(choice, match.group(2), one(key))
        elif match := re.fullmatch(r"media-(\d{1,3})-(url|type|alt|duration)", key):
            row = rows.setdefault(int(match.group(1)), MediaRow())
            setattr(row, match.group(2), one(key))
        elif match := re.fullmatch(r"t-([0-9a-fA-F-]{36})-([a-z_]+)", key):
            target = targets.setdefault(match.group(1), TargetForm())
            name = match.group(2)
            if name in TARGET_FLAGS:
                setattr(target, name, True)
            elif name in TARGET_TEXT:
                setattr(target, name, one(key))
    media = [rows[i] for i in sorted(rows)]
    when = one("when", "now")
    action = one("action")
    form = ComposeForm(token=one("token")[:255], timezone=one("timezone") or default_zone, caption=one("caption"),
                       media=media, library=list(library.values())[:MAX_MEDIA],
                       ticked=list(dict.fromkeys(values.get("accounts", []))), targets=targets,
                       when=when if when in WHEN else "now", date=one("schedule-date").strip(),
                       time=one("schedule-time").strip(), post_id=one("post") or None, action=action,
                       library_cursor={"library_more": one("library-next"), "library_first": ""}.get(
                           action, one("library-cursor"))[:200])
    extra = 1 if form.action == "add_media" else 0
    return form.with_rows(min(MAX_MEDIA, max(EMPTY_MEDIA_ROWS, len(media)) + extra))


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def from_post(post: Mapping[str, Any], token: str, default_zone: str) -> ComposeForm:
    """A post that has not started, as the composer shows it for editing."""
    zone_name = str(post.get("timezone") or default_zone)
    media = [MediaRow(url=str(m.get("url") or ""), type=str(m.get("type") or "image"),
                      alt=str(m.get("alt_text") or ""),
                      duration="" if m.get("duration_sec") is None else f"{float(m['duration_sec']):g}")
             for m in post.get("media") or [] if not m.get("media_id")]
    library = [LibraryChoice(str(m["media_id"]), kind=str(m.get("type") or "image"), alt=str(m.get("alt_text") or ""),
                             duration=_probed_seconds(m.get("probe")))
               for m in post.get("media") or [] if m.get("media_id")]
    targets = {str(t["account_id"]): _target_form(t.get("settings") or {}, t.get("caption"))
               for t in post.get("targets") or []}
    form = ComposeForm(token=token, timezone=zone_name if valid_zone(zone_name) else default_zone,
                       caption=str(post.get("caption") or ""), media=media, library=library, ticked=list(targets),
                       targets=targets, post_id=str(post["id"]))
    scheduled = post.get("scheduled_at")
    if scheduled:
        moment = datetime.fromisoformat(str(scheduled))
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(ZoneInfo(form.timezone))
        form.date, form.time = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
    form.when = "draft" if post.get("draft") else "schedule" if scheduled else "now"
    return form.with_rows(max(EMPTY_MEDIA_ROWS, len(media)))


def _probed_seconds(found: Any) -> str:
    seconds = found.get("duration_sec") if isinstance(found, Mapping) else None
    return "" if seconds is None else f"{float(seconds):g}"


def _target_form(settings: Mapping[str, Any], caption: Any) -> TargetForm:
    return TargetForm(
        caption=str(caption or ""), privacy_level=str(settings.get("privacy_level") or ""),
        allow_comment=bool(settings.get("allow_comment")), allow_duet=bool(settings.get("allow_duet")),
        allow_stitch=bool(settings.get("allow_stitch")),
        commercial=bool(settings.get("brand_content_toggle") or settings.get("brand_organic_toggle")),
        brand_organic=bool(settings.get("brand_organic_toggle")),
        brand_content=bool(settings.get("brand_content_toggle")),
        auto_add_music=bool(settings.get("auto_add_music")), title=str(settings.get("title") or ""),
        media_type=str(settings.get("media_type") or "FEED"), link=str(settings.get("link") or ""))


# --- counts and previews ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    label: str
    used: int
    limit: int

    @property
    def over(self) -> bool:
        return self.used > self.limit


def caption_counts(text: str, platform: str) -> list[Count]:
    """Characters (as the publisher counts them: code points) and, where a platform limits them, hashtags and
    mentions."""
    counts = [Count("characters", len(text), CAPTION_LIMITS[platform])]
    if platform == "instagram":
        counts += [Count("hashtags", len(HASHTAG.findall(text)), INSTAGRAM_HASHTAGS),
                   Count("mentions", len(MENTION.findall(text)), INSTAGRAM_MENTIONS)]
    return counts


def counted_platforms(form: ComposeForm, accounts: list[Account]) -> list[str]:
    """The platforms of the ticked accounts, or of every connected one while none is ticked."""
    ticked = {a.platform for a in accounts if a.id in form.ticked}
    present = ticked or {a.platform for a in accounts}
    return [p for p in PLATFORM_ORDER if p in present]


def effective_caption(form: ComposeForm, account_id: str) -> str:
    override = form.target(account_id).caption
    return override if override.strip() else form.caption


def preview_caption(text: str, platform: str) -> tuple[str, bool]:
    """What the platform shows before "… more", and whether it cut anything."""
    cut = PREVIEW_CUT.get(platform, 150)
    if len(text) <= cut:
        return text, False
    return text[:cut].rstrip(), True


def guess_type(url: str) -> str:
    path = urlsplit(url).path.lower() if MEDIA_URL.match(url) else ""
    return "video" if path.rsplit(".", 1)[-1] in VIDEO_EXTENSIONS else "image"


# --- the API body --------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    body: dict[str, Any] | None
    errors: dict[str, str]
    media_rows: list[int] = field(default_factory=list)  # form row of each media item sent (LIBRARY_ROW: chosen)


def to_body(form: ComposeForm, accounts: list[Account], *, now: datetime, editing: bool = False) -> Outcome:
    """The POST /api/v1/posts body (PATCH's when editing), or the fields to correct first."""
    errors: dict[str, str] = {}
    if len(form.caption) > API_CAPTION_LIMIT:
        errors["caption"] = (f"The caption can be at most {API_CAPTION_LIMIT:,} characters; "
                             f"it has {len(form.caption):,}.")
    media, rows = _media(form, errors)
    body: dict[str, Any] = {"caption": form.caption, "media": media}
    if editing:
        # Only the accounts' own captions can change on a post; its accounts and their settings stay.
        body["targets"] = [{"account_id": a, "caption": form.target(a).caption if form.target(a).caption.strip()
                            else None} for a in form.ticked]
    else:
        body["targets"] = _targets(form, accounts, errors)
    body.update(_when(form, now, errors))
    return Outcome(None if errors else body, errors, rows)


LIBRARY_ROW = -1


def _media(form: ComposeForm, errors: dict[str, str]) -> tuple[list[dict[str, Any]], list[int]]:
    """The library's files first, in the order they were ticked, then the addresses typed."""
    media: list[dict[str, Any]] = []
    rows: list[int] = []
    for choice in form.library:
        chosen: dict[str, Any] = {"media_id": choice.media_id}
        if len(choice.alt) > 1000:
            errors[f"library-{choice.media_id}-alt"] = "The description can be at most 1,000 characters."
        if choice.alt.strip():
            chosen["alt_text"] = choice.alt.strip()
        media.append(chosen)
        rows.append(LIBRARY_ROW)
    for index, row in enumerate(form.media):
        url = row.url.strip()
        if not url:
            if not row.empty:
                errors[f"media-{index}-url"] = "Enter the address of this image or video, or clear the row."
            continue
        if not (8 <= len(url) <= 2048 and MEDIA_URL.match(url)):
            errors[f"media-{index}-url"] = ("Enter the full address of the image or video, starting with https:// "
                                            "(at most 2,048 characters).")
        if row.type not in ("image", "video"):
            errors[f"media-{index}-type"] = "Choose whether this is an image or a video."
        if len(row.alt) > 1000:
            errors[f"media-{index}-alt"] = "The description can be at most 1,000 characters."
        item: dict[str, Any] = {"url": url, "type": row.type}
        if row.alt.strip():
            item["alt_text"] = row.alt.strip()
        if row.type == "video" and row.duration.strip():
            seconds = _seconds(row.duration)
            if seconds is None:
                errors[f"media-{index}-duration"] = "Enter the video's length in seconds, as a number such as 42."
            else:
                item["duration_sec"] = seconds
        media.append(item)
        rows.append(index)
    if len(media) > MAX_MEDIA:
        errors["media"] = f"A post takes at most {MAX_MEDIA} images or videos."
    return media, rows


def _seconds(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if 0 <= value <= 36000 else None


def _targets(form: ComposeForm, accounts: list[Account], errors: dict[str, str]) -> list[dict[str, Any]]:
    by_id = {a.id: a for a in accounts}
    targets: list[dict[str, Any]] = []
    if not form.ticked:
        errors["accounts"] = "Choose at least one account to post to."
    for account_id in form.ticked:
        account = by_id.get(account_id)
        if account is None:
            errors["accounts"] = "One of the chosen accounts is no longer connected. Choose again."
            continue
        if not account.publishable:
            errors["accounts"] = f"{account.name} cannot be published to: {account.unpublishable_reason}"
            continue
        typed = form.target(account_id)
        target: dict[str, Any] = {"account_id": account_id, "settings": _settings(account, typed, form, errors)}
        if typed.caption.strip():
            target["caption"] = typed.caption
        targets.append(target)
    return targets


def _settings(account: Account, typed: TargetForm, form: ComposeForm, errors: dict[str, str]) -> dict[str, Any]:
    if account.platform == "tiktok":
        return _tiktok_settings(account, typed, form.media_kind, errors)
    if account.platform == "instagram":
        if typed.media_type not in INSTAGRAM_TYPES:
            errors[field_id(account.id, "media_type")] = f"{account.name}: choose a feed post, a reel or a story."
            return {}
        return {"media_type": typed.media_type}
    link = typed.link.strip()
    if link and not MEDIA_URL.match(link):
        errors[field_id(account.id, "link")] = f"{account.name}: enter the link's full address, starting with https://."
    return {"link": link} if link else {}


def _tiktok_settings(account: Account, typed: TargetForm, kind: str, errors: dict[str, str]) -> dict[str, Any]:
    # No privacy chosen is sent as none: the publisher refuses it, and there is no default to fall back on.
    settings: dict[str, Any] = {"allow_comment": typed.allow_comment}
    if typed.privacy_level:
        settings["privacy_level"] = typed.privacy_level
    if kind == "photo":
        # TikTok adds music to photo posts unless told not to; only the person turns it on.
        settings["auto_add_music"] = typed.auto_add_music
        if typed.title.strip():
            settings["title"] = typed.title.strip()
            if len(settings["title"]) > TIKTOK_PHOTO_TITLE_LIMIT:
                errors[field_id(account.id, "title")] = (
                    f"{account.name}: a TikTok photo title can be at most {TIKTOK_PHOTO_TITLE_LIMIT} characters; "
                    f"it has {len(settings['title'])}.")
    else:
        settings["allow_duet"] = typed.allow_duet
        settings["allow_stitch"] = typed.allow_stitch
    commercial = typed.commercial
    if commercial and not (typed.brand_organic or typed.brand_content):
        errors[field_id(account.id, "commercial")] = (
            f"{account.name}: say whether this promotes your brand, someone else's (branded content) or both, "
            "or turn off the commercial content disclosure.")
    settings["brand_organic_toggle"] = commercial and typed.brand_organic
    settings["brand_content_toggle"] = commercial and typed.brand_content
    return settings


def _local(date: str, time: str) -> datetime | None:
    try:
        return datetime.fromisoformat(f"{date}T{time[:5]}:00")
    except ValueError:
        return None


def _when(form: ComposeForm, now: datetime, errors: dict[str, str]) -> dict[str, Any]:
    if not valid_zone(form.timezone):
        errors["timezone"] = "Choose a time zone from the list."
    timing: dict[str, Any] = {"timezone": form.timezone, "draft": form.when == "draft", "scheduled_at": None}
    if form.when == "now" or (form.when == "draft" and not (form.date or form.time)):
        return timing
    if not DATE.match(form.date) or _local(form.date, "00:00") is None:
        errors["schedule-date"] = "Enter the date to publish on, for example 2026-03-29."
        return timing
    if calendar_grid.parse_day(form.date) is None:
        errors["schedule-date"] = (f"Choose a date between {calendar_grid.FIRST_DAY:%-d %B %Y} and "
                                   f"{calendar_grid.LAST_DAY:%-d %B %Y}.")
        return timing
    if not TIME.match(form.time) or _local(form.date, form.time) is None:
        errors["schedule-time"] = "Enter the time to publish at, for example 09:30."
        return timing
    local = _local(form.date, form.time)
    assert local is not None
    timing["scheduled_at"] = local.strftime("%Y-%m-%dT%H:%M:00")
    if "timezone" in errors:
        return timing
    zone = ZoneInfo(form.timezone)
    instant = local.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local:
        errors["schedule-time"] = (f"{local:%H:%M} does not exist on {local:%-d %B %Y} in {form.timezone}: the clocks "
                                   "skip it. Choose another time.")
    elif form.when == "schedule" and instant <= now:
        errors["schedule-date"] = "Choose a time in the future, or publish now."
    return timing


# --- the API's refusals, next to their fields ---------------------------------------------------------------

# Where each publisher rule (services/publisher/rules.py) is fixed, and what to say there. None: say what the
# publisher said.
RULE_FIELDS: dict[str, tuple[str, str | None]] = {
    "tiktok_privacy_required": ("privacy_level", "Choose who can see this post on TikTok."),
    "tiktok_privacy_level": ("privacy_level", "Choose who can see this post on TikTok."),
    "tiktok_privacy_not_offered": ("privacy_level", "Choose one of the audiences this TikTok account offers."),
    "tiktok_branded_private": ("privacy_level", "Branded content cannot be private: choose who else can see it."),
    "tiktok_allow_comment": ("allow_comment", "The creator has turned off comments on TikTok."),
    "tiktok_allow_duet": ("allow_duet", "The creator has turned off duets on TikTok."),
    "tiktok_allow_stitch": ("allow_stitch", "The creator has turned off stitches on TikTok."),
    "tiktok_allow_duet_photo": ("allow_duet", "Duets do not apply to photo posts."),
    "tiktok_allow_stitch_photo": ("allow_stitch", "Stitches do not apply to photo posts."),
    "tiktok_photo_title": ("title", None),
    "tiktok_duration": ("", None),
    "instagram_media_type": ("media_type", None),
    "instagram_reel_video": ("media_type", "A reel takes exactly one video."),
    "instagram_story_single": ("media_type", "A story takes exactly one image or video."),
    "instagram_caption_length": ("caption", None),
    "instagram_hashtags": ("caption", "Instagram allows at most 30 hashtags."),
    "instagram_mentions": ("caption", "Instagram allows at most 20 @mentions."),
    "tiktok_caption_length": ("caption", None),
    "facebook_empty": ("caption", "A Facebook post needs text, a link, photos or a video."),
    "account_unpublishable": ("account", None),
    "account_not_found": ("account", "This account is no longer connected."),
    "duplicate_target": ("account", None),
}
# The publisher's limits on the files themselves (services/publisher/rules.py: each limit of a post type's media is
# refused as `<rule>_<limit>`), beside the counts and mixes of media.
MEDIA_LIMIT_RULES = ("instagram_image", "instagram_carousel_video", "instagram_reel", "instagram_story",
                     "facebook_photo", "facebook_video", "tiktok_video", "tiktok_photo")
MEDIA_LIMITS = ("format", "codec", "size", "duration", "frame_rate", "width", "dimensions", "aspect_ratio",
                "audio_codec", "audio_sample_rate", "audio_channels", "chroma_subsampling")
MEDIA_RULES = frozenset({"instagram_needs_media", "instagram_carousel_size", "instagram_jpeg_only", "tiktok_media",
                         "tiktok_photo_count", "tiktok_photo_format", "tiktok_photo_cover_index",
                         "facebook_mixed_media", "facebook_one_video", "facebook_too_many_photos",
                         "instagram_aspect_ratio", "instagram_carousel_aspect_ratio", "media_not_found",
                         *(f"{rule}_{limit}" for rule in MEDIA_LIMIT_RULES for limit in MEDIA_LIMITS)})
SETTING_RULES = frozenset({"unknown_setting", "setting_type", "setting_url"})
POST_RULES = {"scheduled_at_invalid": "schedule-time", "timezone_unknown": "timezone"}
MEDIA_FIELDS = {"url": "url", "type": "type", "alt_text": "alt", "duration_sec": "duration"}
REQUEST_FIELDS = {"caption": ("caption", "The caption can be at most 10,000 characters."),
                  "scheduled_at": ("schedule-date", "Enter a date and time to publish at."),
                  "timezone": ("timezone", "Choose a time zone from the list."),
                  "media": ("media", "A post takes at most 35 images or videos."),
                  "targets": ("accounts", "Choose between 1 and 25 accounts to post to.")}
MEDIA_SENTENCES = {"url": "Enter the full address of the image or video, starting with https://.",
                   "type": "Choose whether this is an image or a video.",
                   "alt": "The description can be at most 1,000 characters.",
                   "duration": "Enter the video's length in seconds, at most 36,000."}
GENERAL = "_form"


def field_errors(error: Mapping[str, Any], form: ComposeForm, accounts: list[Account],
                 body: Mapping[str, Any] | None, media_rows: list[int]) -> dict[str, str]:
    """An answer in the one error shape, as {field id: sentence}; what names no field goes to the summary."""
    errors: dict[str, str] = {}
    details = error.get("details")
    if error.get("code") == "post_invalid" and isinstance(details, list):
        for problem in details:
            if isinstance(problem, dict):
                _add(errors, *_problem_field(problem, form, accounts, body))
    elif error.get("code") == "validation_error" and isinstance(details, list):
        for detail in details:
            if isinstance(detail, dict):
                _add(errors, *_request_field(str(detail.get("field") or ""), body, media_rows))
    elif error.get("code") == "idempotency_key_reused":
        errors[GENERAL] = ("This form was already sent and created a post; the form is ready for a new one. "
                           "Check your posts before sending it again.")
    elif error.get("code") == "post_started":
        errors[GENERAL] = "Publishing has started for this post, so it can no longer be changed."
    return errors or {GENERAL: str(error.get("message") or "Postifys could not save this post. Try again.")}


def _add(errors: dict[str, str], key: str, sentence: str) -> None:
    if sentence not in errors.get(key, ""):
        errors[key] = f"{errors[key]} {sentence}" if key in errors else sentence


def _problem_field(problem: Mapping[str, Any], form: ComposeForm, accounts: list[Account],
                   body: Mapping[str, Any] | None) -> tuple[str, str]:
    rule, message = str(problem.get("rule") or ""), str(problem.get("message") or "")
    if rule in POST_RULES:
        return POST_RULES[rule], message
    if rule == "media_not_found":
        return "media", message or "One of the chosen files is no longer in your library. Choose it again."
    account_id = _account_of(problem, body)
    account = next((a for a in accounts if a.id == account_id), None)
    if account is None:
        return GENERAL, message
    if rule in MEDIA_RULES:
        return "media", f"{account.name}: {message}"
    if rule in SETTING_RULES:
        key = message.split(" ", 1)[0]
        return field_id(account.id, key) if key in TargetForm.__dataclass_fields__ else field_id(account.id, "panel"), \
            f"{account.name}: {message}"
    where, said = RULE_FIELDS.get(rule, ("", None))
    sentence = f"{account.name}: {said or message}"
    if where == "account":
        return "accounts", sentence
    if where == "caption":
        return (field_id(account.id, "caption") if form.target(account.id).caption.strip() else "caption"), sentence
    return field_id(account.id, where or "panel"), sentence


def _account_of(problem: Mapping[str, Any], body: Mapping[str, Any] | None) -> str | None:
    if problem.get("account_id"):
        return str(problem["account_id"])
    index = problem.get("target")
    targets = (body or {}).get("targets") or []
    if isinstance(index, int) and 0 <= index < len(targets):
        return str(targets[index]["account_id"])
    return None


def _request_field(path: str, body: Mapping[str, Any] | None, media_rows: list[int]) -> tuple[str, str]:
    parts = path.split(".")
    if parts[0] == "media" and len(parts) >= 3 and parts[1].isdigit():
        index = int(parts[1])
        name = MEDIA_FIELDS.get(parts[2], "url")
        row = media_rows[index] if index < len(media_rows) else index
        if row == LIBRARY_ROW:
            return "media", "One of the chosen files could not be read. Choose it again."
        return f"media-{row}-{name}", MEDIA_SENTENCES[name]
    if parts[0] == "targets" and len(parts) >= 3 and parts[1].isdigit():
        targets = (body or {}).get("targets") or []
        index = int(parts[1])
        if index < len(targets):
            account_id = str(targets[index]["account_id"])
            if parts[2] == "caption":
                return field_id(account_id, "caption"), "This account's caption can be at most 10,000 characters."
            return field_id(account_id, "panel"), "These settings could not be read. Check them and try again."
    if parts[0] in REQUEST_FIELDS:
        return REQUEST_FIELDS[parts[0]]
    return GENERAL, "Some of the post could not be read. Check it and try again."
