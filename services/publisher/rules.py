"""Publishing rules, free of frameworks: what each platform accepts, when a post is due, how a failure is
treated. Every refusal names the target and the rule, in words for the person who wrote the post."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from math import gcd
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from shared.contracts.media import MediaProbe
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
    """One medium of a post: a URL the person typed, or an item of their media library (`media_id`, no URL: the
    pipeline asks the media service for a fresh signed URL, or the bytes, when it publishes)."""

    url: str | None
    type: str  # image | video
    alt_text: str | None = None
    duration_sec: float | None = None
    probe: MediaProbe | None = None  # what the media service found in the file; the limits are checked on it
    media_id: uuid.UUID | None = None
    name: str | None = None

    @property
    def extension(self) -> str:
        path = urlsplit(self.url or "").path.lower()
        return path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""

    def stored(self) -> dict[str, Any]:
        """As the post's row keeps it (JSON)."""
        return {"media_id": str(self.media_id) if self.media_id else None, "type": self.type, "name": self.name,
                "alt_text": self.alt_text, "duration_sec": self.duration_sec,
                "probe": self.probe.model_dump(mode="json") if self.probe else None, "url": self.url}

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Media:
        """From the row, including rows written before media_id, name and probe were kept."""
        probe, media_id = stored.get("probe"), stored.get("media_id")
        return cls(url=stored.get("url"), type=stored["type"], alt_text=stored.get("alt_text"),
                   duration_sec=stored.get("duration_sec"), probe=MediaProbe.model_validate(probe) if probe else None,
                   media_id=uuid.UUID(str(media_id)) if media_id else None, name=stored.get("name"))

    def shown(self) -> dict[str, Any]:
        """As the API answers it: a library item's URL is never shown (it is signed at publish time)."""
        thumbnail = f"/api/v1/media/{self.media_id}/thumbnail" if self.media_id else None
        return {**self.stored(), "thumbnail_url": thumbnail}

    @property
    def seconds(self) -> float | None:
        """The video's length: the probe's when the file was probed, else what the person said."""
        if self.probe is not None and self.probe.duration_sec is not None:
            return self.probe.duration_sec
        return self.duration_sec


def library_ids(media: list[Media]) -> list[uuid.UUID]:
    return list(dict.fromkeys(m.media_id for m in media if m.media_id is not None))


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
    check_media(p, i, account, media, FACEBOOK_LIMITS, {"image": "photo", "video": "video"})


# Which entry of INSTAGRAM_LIMITS an image and a video of each Instagram post type are checked against.
INSTAGRAM_KINDS = {"image": {"image": "image"}, "reel": {"video": "reel"},
                   "carousel": {"image": "carousel_image", "video": "carousel_video"},
                   "story": {"image": "story_image", "video": "story_video"}}


def check_instagram(p: Problems, i: int, account: str, caption: str, media: list[Media],
                    settings: dict[str, Any]) -> None:
    kind = instagram_format(media, settings)
    if settings.get("media_type") not in (None, "FEED", "REELS", "STORIES"):
        p.add("instagram_media_type", "Instagram media_type is FEED, REELS or STORIES.", target=i, account_id=account)
    if not media:
        p.add("instagram_needs_media", "Instagram needs an image or a video.", target=i, account_id=account)
    fewest, most = INSTAGRAM_CAROUSEL_ITEMS
    if kind == "carousel" and not fewest <= len(media) <= most:
        fix = f"remove {len(media) - most}" if len(media) > most else "add another"
        p.add("instagram_carousel_size", f"An Instagram carousel takes {fewest} to {most} items, not {len(media)} "
                                         f"— {fix}.", target=i, account_id=account)
    if kind == "story" and len(media) != 1:
        p.add("instagram_story_single", "An Instagram story takes exactly one image or video.", target=i,
              account_id=account)
    if settings.get("media_type") == "REELS" and (len(media) != 1 or media[0].type != "video"):
        p.add("instagram_reel_video", "An Instagram reel takes exactly one video.", target=i, account_id=account)
    for m in media:
        if m.type == "image" and m.probe is None and m.extension not in ("jpg", "jpeg"):
            p.add("instagram_jpeg_only", f"Instagram only takes JPEG images; {m.url} is not a .jpg.", target=i,
                  account_id=account)
    check_media(p, i, account, media, INSTAGRAM_LIMITS, INSTAGRAM_KINDS[kind])
    if kind == "carousel":
        check_one_shape(p, i, account, media)
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
    if photo and any(m.probe is None and m.extension not in ("jpg", "jpeg", "webp") for m in media):
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
        seconds = m.seconds
        if m.type != "video" or not seconds:
            continue
        if max_duration and seconds > max_duration:
            p.add("tiktok_duration", f"This video is {seconds:g} s; the creator can post at most {max_duration} s "
                                     f"on TikTok — trim it to {max_duration} s.", target=i, account_id=account)
        elif not max_duration and seconds > TIKTOK_API_LONGEST_VIDEO_SEC:
            p.add("tiktok_duration", f"This video is {seconds:g} s; TikTok takes at most "
                                     f"{TIKTOK_API_LONGEST_VIDEO_SEC} s through its API — trim it to "
                                     f"{TIKTOK_API_LONGEST_VIDEO_SEC} s.", target=i, account_id=account)
    check_media(p, i, account, media, TIKTOK_LIMITS, {"image": "photo", "video": "video"})
    if settings.get("post_mode", "direct") not in ("direct", "inbox"):
        p.add("tiktok_post_mode", "post_mode is direct or inbox.", target=i, account_id=account)
    if photo and settings.get("photo_cover_index", 0) >= len(media):
        p.add("tiktok_photo_cover_index", f"photo_cover_index counts from 0 and names one of the {len(media)} photos.",
              target=i, account_id=account)
    if photo and len(settings.get("title") or caption[:90]) > 90:
        p.add("tiktok_photo_title", "TikTok photo titles are at most 90 characters.", target=i, account_id=account)
    if len(caption) > 2200:
        p.add("tiktok_caption_length", "TikTok captions are at most 2,200 characters.", target=i, account_id=account)


# --- media limits ----------------------------------------------------------------------------------------
# What each platform refuses about a file, per post type, from the platforms' published limits
# (../shared/reference/platform-apis.md, Meta's and TikTok's pages). Where two published numbers disagree the
# stricter one is kept, so a post refused here could have passed, never the other way round. Only refusals live
# here: what a platform fixes by itself (Instagram scales images 320-1440 px wide, converts colours to sRGB) is
# not checked.

MB, GB = 1000**2, 1000**3
MiB = 1024**2


@dataclass(frozen=True)
class ImageLimits:
    """What a platform takes as an image of one post type. Each limit's rule code is `rule` + "_" + the limit's
    name (format, size, aspect_ratio, dimensions), unless `codes` names it otherwise."""

    label: str  # "Instagram feed images", as the messages say it
    rule: str
    formats: tuple[str, ...]
    most_bytes: int
    aspect: tuple[float, float] | None = None  # width / height, both ends taken
    frame: tuple[int, int] | None = None  # (longer side, shorter side) at most, either way round
    codes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoLimits:
    """What a platform takes as a video of one post type; rule codes as for ImageLimits (format, codec, size,
    duration, frame_rate, width, dimensions, aspect_ratio, audio_codec, audio_sample_rate, audio_channels,
    chroma_subsampling). A limit left None is not one of the platform's."""

    label: str
    rule: str
    formats: tuple[str, ...]
    bytes: tuple[int, int]
    codecs: tuple[str, ...] | None = None
    seconds: tuple[float, float] | None = None
    fps: tuple[float, float] | None = None
    most_width: int | None = None
    sides: tuple[int, int] | None = None  # each side from..to
    aspect: tuple[float, float] | None = None
    shape: str | None = None  # the one shape `aspect` allows, give or take a little ("9:16")
    recommended: str | None = None
    audio_codecs: tuple[str, ...] | None = None
    most_sample_rate: int | None = None
    channels: tuple[int, ...] | None = None
    chroma_420: bool = False
    codes: Mapping[str, str] = field(default_factory=dict)


NINE_SIXTEENTHS = 9 / 16
STORY_SHAPE_TOLERANCE = 0.02  # 1080x1920 is 0.5625; phones' and editors' near-9:16 sizes stay within this
ROUNDING = 0.001  # a shape's bound is met within a pixel's rounding: 1080x566 is 1.91:1
SAME_SHAPE = 0.01  # carousel items whose width/height differ by at most 1% have one aspect ratio

INSTAGRAM_IMAGE = ImageLimits(
    "Instagram feed images", "instagram_image", ("jpeg",), 8 * MiB, aspect=(4 / 5, 1.91),
    codes={"format": "instagram_jpeg_only", "aspect_ratio": "instagram_aspect_ratio"})
INSTAGRAM_REEL = VideoLimits(
    # 300 MB, not the 1 GB some of Meta's mirrors say
    "Instagram reels", "instagram_reel", ("mp4", "mov"), (1, 300 * MB), codecs=("h264", "hevc"),
    seconds=(3, 15 * 60), fps=(23, 60), most_width=1920, aspect=(0.01, 10), recommended="9:16",
    audio_codecs=("aac",), most_sample_rate=48_000, channels=(1, 2), chroma_420=True)
INSTAGRAM_CAROUSEL_ITEMS = (2, 10)
INSTAGRAM_LIMITS: dict[str, ImageLimits | VideoLimits] = {
    "image": INSTAGRAM_IMAGE,
    "carousel_image": INSTAGRAM_IMAGE,
    "carousel_video": replace(INSTAGRAM_REEL, label="Instagram carousel videos", rule="instagram_carousel_video"),
    "reel": INSTAGRAM_REEL,
    "story_image": replace(INSTAGRAM_IMAGE, label="Instagram story images", aspect=None),
    "story_video": replace(
        INSTAGRAM_REEL, label="Instagram story videos", rule="instagram_story", bytes=(1, 100 * MB),
        seconds=(3, 60), aspect=(NINE_SIXTEENTHS - STORY_SHAPE_TOLERANCE, NINE_SIXTEENTHS + STORY_SHAPE_TOLERANCE),
        shape="9:16", recommended="1080x1920"),
}

FACEBOOK_LIMITS: dict[str, ImageLimits | VideoLimits] = {
    # 4 MB: what Graph's subcode 1366046 refuses (the Stories page says 10 MB)
    "photo": ImageLimits("Facebook photos", "facebook_photo", ("jpeg", "png", "gif", "bmp", "tiff"), 4 * MB),
    # 2 GB and 1 KB: the Video API's subcodes 1363023 and 1363022 (Facebook's help says 10 GB); under 240 minutes
    "video": VideoLimits(
        "Facebook videos", "facebook_video",
        ("3g2", "3gp", "3gpp", "asf", "avi", "dat", "divx", "dv", "f4v", "flv", "gif", "m2ts", "m4v", "mkv", "mod",
         "mov", "mp4", "mpe", "mpeg", "mpeg4", "mpg", "mts", "nsv", "ogm", "ogv", "qt", "tod", "ts", "vob", "wmv"),
        (1024, 2 * GB), seconds=(0, 240 * 60)),
}

TIKTOK_API_LONGEST_VIDEO_SEC = 600  # when the creator's own limit is not known
TIKTOK_LIMITS: dict[str, ImageLimits | VideoLimits] = {
    "video": VideoLimits(
        "TikTok videos", "tiktok_video", ("mp4", "webm", "mov"), (1, 4 * GB),
        codecs=("h264", "hevc", "vp8", "vp9"), fps=(23, 60), sides=(360, 4096)),
    # "1080p at most": 1920x1080 either way round
    "photo": ImageLimits("TikTok photos", "tiktok_photo", ("jpeg", "webp"), 20 * MB, frame=(1920, 1080)),
}

FORMAT_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "heif": "HEIF", "gif": "GIF",
                "bmp": "BMP", "tiff": "TIFF", "avif": "AVIF", "mp4": "MP4", "mov": "MOV", "webm": "WebM",
                "mkv": "MKV", "avi": "AVI"}
CODEC_NAMES = {"h264": "H.264", "hevc": "HEVC (H.265)", "vp8": "VP8", "vp9": "VP9", "av1": "AV1",
               "mpeg4": "MPEG-4 Part 2", "prores": "ProRes", "aac": "AAC", "mp3": "MP3", "opus": "Opus",
               "vorbis": "Vorbis", "ac3": "AC-3", "pcm_s16le": "PCM",
               "mp3float": "MP3"}  # FFmpeg names the decoder it read MP3 sound with
FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff", "heic": "heif", "mpo": "jpeg", "matroska": "mkv", "mpegts": "ts"}


Refuse = Callable[[str, str], None]  # (limit, message)


def check_media(p: Problems, i: int, account: str, media: list[Media],
                limits: Mapping[str, ImageLimits | VideoLimits], kinds: Mapping[str, str]) -> None:
    """Each probed item against the limits of its post type: `kinds` names the entry of `limits` for an image
    and for a video of this post ({"image": "story_image", "video": "story_video"})."""
    for n, m in enumerate(media, 1):
        if m.probe is None or m.probe.kind not in kinds:
            continue
        subject = f"This {m.probe.kind}" if len(media) == 1 else f"{m.probe.kind.capitalize()} {n}"
        chosen = limits[kinds[m.probe.kind]]

        def refuse(limit: str, message: str, chosen: ImageLimits | VideoLimits = chosen) -> None:
            p.add(chosen.codes.get(limit, f"{chosen.rule}_{limit}"), message, target=i, account_id=account)

        if isinstance(chosen, ImageLimits):
            _check_image(refuse, subject, chosen, m.probe)
        else:
            _check_video(refuse, subject, chosen, m.probe)


def check_one_shape(p: Problems, i: int, account: str, media: list[Media]) -> None:
    """An Instagram carousel shows every item at one aspect ratio: the first item's."""
    probed = [(n, m.probe) for n, m in enumerate(media, 1) if m.probe is not None and m.probe.aspect_ratio]
    if len(probed) < 2:
        return
    first_n, first = probed[0]
    differ = [(n, probe) for n, probe in probed[1:] if abs(probe.aspect_ratio / first.aspect_ratio - 1) > SAME_SHAPE]
    if differ:
        shape = _shape(first.width, first.height)
        which = ", ".join(f"item {n} is {_shape(probe.width, probe.height)}" for n, probe in differ)
        p.add("instagram_carousel_aspect_ratio",
              f"Item {first_n} is {shape} but {which}; an Instagram carousel shows all its items at one aspect "
              f"ratio — crop them all to {shape}.", target=i, account_id=account)


def _check_image(refuse: Refuse, subject: str, limits: ImageLimits, probe: MediaProbe) -> None:
    fmt = _format(probe.format)
    if fmt not in limits.formats:
        refuse("format", f"{subject} is {_article(_name(fmt))}; {limits.label} must be {_either(limits.formats)} "
                         f"— convert it to {_name(limits.formats[0])}.")
    if probe.size_bytes > limits.most_bytes:
        refuse("size", f"{subject} is {_size(probe.size_bytes, limits.most_bytes)}; {limits.label} must be at most "
                       f"{_size(limits.most_bytes)} — compress it or lower its resolution.")
    _check_aspect(refuse, subject, limits.label, limits.aspect, None, None, probe)
    if limits.frame:
        longer, shorter = sorted((probe.width, probe.height), reverse=True)
        most_longer, most_shorter = limits.frame
        if longer > most_longer or shorter > most_shorter:
            refuse("dimensions", f"{subject} is {probe.width}x{probe.height}; {limits.label} must fit in "
                                 f"{most_longer}x{most_shorter} (either way round) — scale it down so its shorter "
                                 f"side is at most {most_shorter} px and its longer side at most {most_longer} px.")


def _check_video(refuse: Refuse, subject: str, limits: VideoLimits, probe: MediaProbe) -> None:
    fmt = _format(probe.format)
    if fmt not in limits.formats:
        allowed = _either(limits.formats) if len(limits.formats) <= 4 else "one of " + ", ".join(
            _name(f) for f in limits.formats)
        refuse("format", f"{subject} is {_article(_name(fmt))} file; {limits.label} must be {allowed} — save it "
                         f"as MP4.")
    if limits.codecs and probe.video_codec and probe.video_codec not in limits.codecs:
        refuse("codec", f"{subject} is encoded with {_codec(probe.video_codec)}; {limits.label} must be "
                        f"{_either(limits.codecs, _codec)} — re-encode it with H.264.")
    least, most = limits.bytes
    if probe.size_bytes > most:
        refuse("size", f"{subject} is {_size(probe.size_bytes, most)}; {limits.label} must be at most {_size(most)} "
                       f"— compress it to a lower bitrate or shorten it.")
    elif probe.size_bytes < least:
        refuse("size", f"{subject} is {_size(probe.size_bytes)}; {limits.label} must be at least {_size(least)} — "
                       f"the file is likely empty or cut short: export it again.")
    seconds = probe.duration_sec
    if limits.seconds and seconds is not None:
        shortest, longest = limits.seconds
        if seconds > longest:
            refuse("duration", f"{subject} is {_seconds(seconds)} long; {limits.label} must be "
                               f"{_span(shortest, longest)} — trim it to {_seconds(longest)}.")
        elif seconds < shortest:
            refuse("duration", f"{subject} is {_seconds(seconds)} long; {limits.label} must be "
                               f"{_span(shortest, longest)} — make it at least {_seconds(shortest)} long.")
    if limits.fps and probe.frame_rate is not None and not limits.fps[0] <= probe.frame_rate <= limits.fps[1]:
        refuse("frame_rate", f"{subject} runs at {probe.frame_rate:.3g} fps; {limits.label} must be "
                             f"{limits.fps[0]:g} to {limits.fps[1]:g} fps — re-encode it at 30 fps.")
    if limits.most_width and probe.width > limits.most_width:
        refuse("width", f"{subject} is {probe.width} px wide; {limits.label} must be at most {limits.most_width} px "
                        f"wide — scale it down to {limits.most_width} px wide.")
    if limits.sides and not all(limits.sides[0] <= side <= limits.sides[1] for side in (probe.width, probe.height)):
        low, high = limits.sides
        fix = f"scale it up to at least {low} px" if min(probe.width, probe.height) < low else \
            f"scale it down to at most {high} px"
        refuse("dimensions", f"{subject} is {probe.width}x{probe.height}; {limits.label} must be {low} to {high} px "
                             f"on each side — {fix} on each side.")
    _check_aspect(refuse, subject, limits.label, limits.aspect, limits.shape, limits.recommended, probe)
    if probe.audio_codec:
        sound = f"{subject}'s sound"
        if limits.audio_codecs and probe.audio_codec not in limits.audio_codecs:
            refuse("audio_codec", f"{sound} is {_codec(probe.audio_codec)}; {limits.label} take "
                                  f"{_either(limits.audio_codecs, _codec)} sound — re-encode the sound as AAC.")
        if limits.most_sample_rate and (probe.audio_sample_rate or 0) > limits.most_sample_rate:
            refuse("audio_sample_rate", f"{sound} is sampled at {(probe.audio_sample_rate or 0) / 1000:g} kHz; "
                                        f"{limits.label} take at most {limits.most_sample_rate / 1000:g} kHz — "
                                        f"resample the sound to {limits.most_sample_rate / 1000:g} kHz.")
        if limits.channels and probe.audio_channels is not None and probe.audio_channels not in limits.channels:
            refuse("audio_channels", f"{sound} has {probe.audio_channels} channels; {limits.label} take mono or "
                                     f"stereo sound — mix it down to stereo.")
    if limits.chroma_420 and probe.pixel_format and not probe.pixel_format.startswith(
            ("yuv420", "yuvj420", "nv12", "nv21", "p010")):
        refuse("chroma_subsampling", f"{subject}'s pixels are {probe.pixel_format}; {limits.label} must be 4:2:0 "
                                     f"(yuv420p) — re-encode it with the yuv420p pixel format.")


def _check_aspect(refuse: Refuse, subject: str, label: str, aspect: tuple[float, float] | None, shape: str | None,
                  recommended: str | None, probe: MediaProbe) -> None:
    if aspect is None or not probe.height:
        return
    low, high = aspect
    ratio = probe.aspect_ratio
    if low * (1 - ROUNDING) <= ratio <= high * (1 + ROUNDING):
        return
    if shape:
        refuse("aspect_ratio", f"{subject} is {_shape(probe.width, probe.height)}; {label} must be {shape} — crop "
                               f"it to {shape}" + (f" ({recommended} is best)." if recommended else "."))
        return
    nearest = _ratio(low) if ratio < low else _ratio(high)
    advice = f" ({recommended} is recommended)" if recommended else ""
    refuse("aspect_ratio", f"{subject} is {_shape(probe.width, probe.height)}; {label} must be between "
                           f"{_ratio(low)} and {_ratio(high)}{advice} — crop it to {recommended or nearest}.")


def _format(name: str) -> str:
    return FORMAT_ALIASES.get(name.lower(), name.lower())


def _name(fmt: str) -> str:
    return FORMAT_NAMES.get(fmt, fmt.upper())


def _codec(codec: str) -> str:
    return CODEC_NAMES.get(codec, codec)


def _article(word: str) -> str:
    return ("an " if word[:1] in "AEFHILMNORSX" else "a ") + word  # as the letters are said: an MP4, a JPEG


def _either(names: tuple[str, ...], say: Callable[[str], str] | None = None) -> str:
    said = [(say or _name)(n) for n in names]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " or " + said[-1]


def _size(n: int, limit: int | None = None) -> str:
    """Bytes as people read them, in the limit's binary units (MiB) when the limit is counted in them."""
    limit = limit or n
    for binary, decimal, name in ((MiB, MB, "MiB"), (1024, 1000, "KiB")):
        if limit >= binary and limit % binary == 0 and limit % decimal != 0:
            return f"{n / binary:.4g} {name}"
    for unit, name in ((GB, "GB"), (MB, "MB"), (1000, "KB")):
        if max(n, limit) >= unit:
            return f"{n / unit:.4g} {name}"
    return f"{n} bytes"


def _seconds(s: float) -> str:
    if s >= 120 and s % 60 == 0:
        return f"{s / 60:g} min"
    if s >= 120:
        return f"{int(s // 60)} min {s % 60:.0f} s"
    return f"{round(s, 1):g} s"


def _span(shortest: float, longest: float) -> str:
    return f"at most {_seconds(longest)}" if not shortest else f"{_seconds(shortest)} to {_seconds(longest)}"


def _shape(width: int, height: int) -> str:
    """A picture's shape as a ratio people know (4:5, 16:9) when it is one, else as 1.91:1 or 1:1.5."""
    d = gcd(width, height) or 1
    if width // d <= 21 and height // d <= 21:
        return f"{width // d}:{height // d}"
    return _ratio(width / height if height else 0.0)


def _ratio(value: float) -> str:
    exact = Fraction(value).limit_denominator(32)
    if abs(float(exact) - value) < 1e-9 and exact.numerator <= 32:
        return f"{exact.numerator}:{exact.denominator}"
    return f"{value:.3g}:1" if value >= 1 else f"1:{1 / value:.3g}"


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
