"""Instagram content publishing: media containers and their lifecycle (IN_PROGRESS, FINISHED, ERROR, EXPIRED,
PUBLISHED), the caption and media rules, publishing with its rolling 24-hour quota, and the published media.
The same for accounts reached through a Page and through Instagram Login. Pure: the router in
instagram_publishing.py parses parameters, fetches media and turns refusals into Graph errors."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.ledger import Ledger, Publish
from sandbox.media import MediaFacts

QUOTA_WINDOW_SECONDS = 86400
STORY_LIFETIME_SECONDS = 86400
CAPTION_MAX_CHARS = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
CAROUSEL_MIN, CAROUSEL_MAX = 2, 10
IMAGE_MAX_BYTES = 8 * 1024 * 1024
IMAGE_MIN_RATIO, IMAGE_MAX_RATIO = 0.8, 1.91
VIDEO_TYPES = ("video/mp4", "video/quicktime")
# Seconds a video may last, by what it becomes.
VIDEO_DURATIONS = {"reel": (3.0, 900.0), "story": (0.0, 60.0), "carousel_video": (3.0, 60.0)}
FIRST_CONTAINER_ID = 17889455560000001
FIRST_MEDIA_ID = 17920238422000001

ContainerKind = Literal["image", "reel", "story", "carousel", "carousel_image", "carousel_video"]
MediaKind = Literal["image", "reel", "story", "carousel"]
PUBLISHED_KINDS: dict[ContainerKind, MediaKind] = {
    "image": "image", "reel": "reel", "story": "story", "carousel": "carousel",
    "carousel_image": "image", "carousel_video": "image",
}
StatusCode = Literal["IN_PROGRESS", "FINISHED", "ERROR", "EXPIRED", "PUBLISHED"]
InstagramProblem = Literal[
    "caption_too_long", "too_many_hashtags", "too_many_mentions", "children_count", "child_invalid",
    "image_format", "image_too_large", "aspect_ratio", "not_found", "carousel_item", "already_published",
    "failed", "expired", "not_ready", "quota",
]
STATUS_TEXT: dict[StatusCode, str] = {
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "PUBLISHED": "Published: Media has been successfully published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
    "ERROR": "Error",
}


@dataclass(frozen=True)
class MediaFailure:
    """Why a container ended in ERROR, as the Graph error media_publish answers for it."""

    code: int
    subcode: int
    message: str
    user_title: str

    def status_text(self) -> str:
        return f"Error: Media upload has failed with error code {self.subcode}. {self.user_title}: {self.message}"


FETCH_FAILED = MediaFailure(9004, 2207052, "The media could not be fetched from this URI.", "Media download has failed")
UNSUPPORTED_VIDEO = MediaFailure(352, 2207026, "The video format is not supported. Please check the spec for "
                                               "supported video formats.", "Unsupported video format")


class InstagramRefused(Exception):
    def __init__(self, problem: InstagramProblem, *, failure: MediaFailure | None = None, detail: str = "") -> None:
        super().__init__(problem)
        self.problem: InstagramProblem = problem
        self.failure = failure
        self.detail = detail


@dataclass
class Container:
    id: str
    account_id: str
    kind: ContainerKind
    caption: str | None
    media_url: str | None
    children: tuple[str, ...]
    created_at: float
    ready_at: float
    expires_at: float
    failure: MediaFailure | None
    options: dict[str, Any] = field(default_factory=dict)
    media_id: str | None = None

    @property
    def is_carousel_item(self) -> bool:
        return self.kind in ("carousel_image", "carousel_video")


@dataclass
class InstagramMedia:
    id: str
    account_id: str
    username: str
    container_id: str
    kind: MediaKind
    caption: str | None
    created_at: float
    media_url: str | None
    children: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        if self.kind == "carousel":
            return "CAROUSEL_ALBUM"
        return "VIDEO" if self.kind == "reel" or self.options.get("video") else "IMAGE"

    @property
    def media_product_type(self) -> str:
        return {"reel": "REELS", "story": "STORY"}.get(self.kind, "FEED")

    @property
    def shortcode(self) -> str:
        return "C" + base64.urlsafe_b64encode(int(self.id).to_bytes(8, "big")).decode().rstrip("=")

    @property
    def permalink(self) -> str:
        if self.kind == "story":
            return f"https://www.instagram.com/stories/{self.username}/{self.id}/"
        return f"https://www.instagram.com/{'reel' if self.kind == 'reel' else 'p'}/{self.shortcode}/"


def check_caption(caption: str | None) -> None:
    if not caption:
        return
    if len(caption) > CAPTION_MAX_CHARS:
        raise InstagramRefused("caption_too_long")
    if len(re.findall(r"(?<![\w#])#\w+", caption)) > MAX_HASHTAGS:
        raise InstagramRefused("too_many_hashtags")
    if len(re.findall(r"(?<![\w@])@[\w.]+", caption)) > MAX_MENTIONS:
        raise InstagramRefused("too_many_mentions")


def image_failure(facts: MediaFacts, kind: ContainerKind) -> MediaFailure | None:
    """An image the crawler could not fetch leaves the container in ERROR; one it fetched but cannot use is
    refused at once (raises), as Instagram does for a PNG."""
    if not facts.ok:
        return FETCH_FAILED
    if facts.content_type != "image/jpeg":
        raise InstagramRefused("image_format")
    if facts.size is not None and facts.size > IMAGE_MAX_BYTES:
        raise InstagramRefused("image_too_large")
    ratio = facts.aspect_ratio
    if kind != "story" and ratio is not None and not IMAGE_MIN_RATIO <= round(ratio, 2) <= IMAGE_MAX_RATIO:
        raise InstagramRefused("aspect_ratio")
    return None


def video_failure(facts: MediaFacts, kind: ContainerKind) -> MediaFailure | None:
    if not facts.ok:
        return FETCH_FAILED
    if facts.content_type not in VIDEO_TYPES:
        return UNSUPPORTED_VIDEO
    shortest, longest = VIDEO_DURATIONS["story" if kind == "story" else kind if kind in VIDEO_DURATIONS else "reel"]
    if facts.duration is not None and not shortest <= facts.duration <= longest:
        return UNSUPPORTED_VIDEO
    return None


class InstagramContent:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._next_container = FIRST_CONTAINER_ID
        self._next_media = FIRST_MEDIA_ID
        self.containers: dict[str, Container] = {}
        self.media: dict[str, InstagramMedia] = {}
        self.publish_times: dict[str, list[float]] = {}

    # Containers

    def create_container(self, account_id: str, *, kind: ContainerKind, caption: str | None, media_url: str | None,
                         children: tuple[str, ...] = (), failure: MediaFailure | None, now: float,
                         processing_seconds: float, ttl_seconds: float,
                         options: dict[str, Any] | None = None) -> Container:
        is_video = kind in ("reel", "carousel_video") or bool((options or {}).get("video"))
        container = Container(
            id=str(self._next_container), account_id=account_id, kind=kind, caption=caption, media_url=media_url,
            children=children, created_at=now, ready_at=now + (processing_seconds if is_video else 0),
            expires_at=now + ttl_seconds, failure=failure, options=options or {})
        self._next_container += 1
        self.containers[container.id] = container
        return container

    def check_children(self, account_id: str, child_ids: list[str], now: float) -> None:
        if not CAROUSEL_MIN <= len(child_ids) <= CAROUSEL_MAX:
            raise InstagramRefused("children_count")
        for child_id in child_ids:
            child = self.containers.get(child_id)
            if (child is None or child.account_id != account_id or not child.is_carousel_item
                    or self.status_code(child, now) in ("PUBLISHED", "EXPIRED")):
                raise InstagramRefused("child_invalid", detail=child_id)

    def status_code(self, container: Container, now: float) -> StatusCode:
        if container.media_id is not None:
            return "PUBLISHED"
        if self.failure_of(container, now) is not None:
            return "ERROR"
        children = [self.status_code(self.containers[c], now) for c in container.children]
        if now >= container.expires_at or "EXPIRED" in children:
            return "EXPIRED"
        if now < container.ready_at or "IN_PROGRESS" in children:
            return "IN_PROGRESS"
        return "FINISHED"

    def failure_of(self, container: Container, now: float) -> MediaFailure | None:
        if container.failure is not None and now >= container.ready_at:
            return container.failure
        for child_id in container.children:
            failure = self.failure_of(self.containers[child_id], now)
            if failure is not None:
                return failure
        return None

    def status_text(self, container: Container, now: float) -> str:
        code = self.status_code(container, now)
        failure = self.failure_of(container, now)
        return failure.status_text() if code == "ERROR" and failure else STATUS_TEXT[code]

    def account_of(self, object_id: str) -> str | None:
        item = self.containers.get(object_id) or self.media.get(object_id)
        return item.account_id if item else None

    # Publishing

    def quota_usage(self, account_id: str, now: float) -> int:
        return sum(1 for at in self.publish_times.get(account_id, []) if now - at < QUOTA_WINDOW_SECONDS)

    def publish(self, account_id: str, username: str, creation_id: str, *, now: float,
                quota_total: int) -> InstagramMedia:
        container = self.containers.get(creation_id)
        if container is None or container.account_id != account_id:
            raise InstagramRefused("not_found", detail=creation_id)
        if container.is_carousel_item:
            raise InstagramRefused("carousel_item")
        status = self.status_code(container, now)
        if status == "PUBLISHED":
            raise InstagramRefused("already_published")
        if status == "ERROR":
            raise InstagramRefused("failed", failure=self.failure_of(container, now))
        if status == "EXPIRED":
            raise InstagramRefused("expired")
        if status == "IN_PROGRESS":
            raise InstagramRefused("not_ready")
        if self.quota_usage(account_id, now) >= quota_total:
            raise InstagramRefused("quota")
        return self._publish(container, username, now)

    def _publish(self, container: Container, username: str, now: float) -> InstagramMedia:
        kind = PUBLISHED_KINDS[container.kind]
        media = InstagramMedia(
            id=str(self._next_media), account_id=container.account_id, username=username, container_id=container.id,
            kind=kind, caption=container.caption, created_at=now, media_url=container.media_url,
            options=container.options)
        self._next_media += 1
        children = [self.containers[c] for c in container.children]
        for child in [container, *children]:
            child.media_id = media.id
        urls = tuple(c.media_url for c in children if c.media_url) if children else (
            (container.media_url,) if container.media_url else ())
        media.children = tuple(c.id for c in children)
        self.media[media.id] = media
        self.publish_times.setdefault(container.account_id, []).append(now)
        self._ledger.record_publish(Publish(
            platform="instagram", account=container.account_id, kind=kind, id=media.id, at=now,
            text=container.caption, media_urls=urls, container_id=container.id,
            details={"caption": container.caption, "media_type": media.media_type,
                     "media_product_type": media.media_product_type, "permalink": media.permalink}))
        return media

    def media_of(self, account_id: str, since: float | None = None, until: float | None = None,
                 ) -> list[InstagramMedia]:
        """The account's media, newest first; stories are not part of it, as on Instagram."""
        chosen = [m for m in self.media.values() if m.account_id == account_id and m.kind != "story"
                  and (since is None or m.created_at >= since) and (until is None or m.created_at <= until)]
        return sorted(chosen, key=lambda m: (m.created_at, m.id), reverse=True)

    def stories_of(self, account_id: str, now: float) -> list[InstagramMedia]:
        """The account's live stories (published within the last 24 hours), newest first."""
        chosen = [m for m in self.media.values() if m.account_id == account_id and m.kind == "story"
                  and now - m.created_at < STORY_LIFETIME_SECONDS]
        return sorted(chosen, key=lambda m: (m.created_at, m.id), reverse=True)

    def media_count(self, account_id: str) -> int:
        return sum(1 for m in self.media.values() if m.account_id == account_id and m.kind != "story")
