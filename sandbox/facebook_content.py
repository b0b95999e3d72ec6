"""What Pages publish through the Graph API: feed posts, photos and videos, and the rules on them (the scheduling
window, duplicate messages, which photos a post may attach, video processing). Pure: the router in
facebook_publishing.py parses parameters, fetches media and turns refusals into Graph errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sandbox.ledger import Ledger, Publish

SCHEDULE_MIN_SECONDS = 10 * 60
SCHEDULE_MAX_SECONDS = 30 * 86400
DUPLICATE_WINDOW_SECONDS = 60

PostKind = Literal["feed", "photo", "photos", "video"]
PageProblem = Literal["scheduled_but_published", "schedule_window", "duplicate", "not_attachable"]


class PageRefused(Exception):
    def __init__(self, problem: PageProblem, detail: str = "") -> None:
        super().__init__(problem)
        self.problem: PageProblem = problem
        self.detail = detail


@dataclass
class PagePost:
    id: str
    page_id: str
    kind: PostKind
    message: str | None
    link: str | None
    # When the post went live (or goes live: scheduled posts and videos still processing).
    created_at: float
    live: bool
    scheduled: bool = False
    object_id: str | None = None
    attached: tuple[str, ...] = ()

    @property
    def permalink_url(self) -> str:
        return f"https://www.facebook.com/{self.page_id}/posts/{self.id.partition('_')[2]}"

    def visible(self, now: float) -> bool:
        return self.live and self.created_at <= now


@dataclass
class PagePhoto:
    id: str
    page_id: str
    url: str
    caption: str | None
    created_at: float
    post_id: str | None

    @property
    def permalink_url(self) -> str:
        return f"https://www.facebook.com/photo.php?fbid={self.id}"


@dataclass(frozen=True)
class VideoFailure:
    code: int
    message: str


@dataclass
class PageVideo:
    id: str
    page_id: str
    file_url: str
    title: str | None
    description: str | None
    created_at: float
    ready_at: float
    failure: VideoFailure | None
    post_id: str | None

    def status(self, now: float) -> Literal["processing", "ready", "error"]:
        if now < self.ready_at:
            return "processing"
        return "error" if self.failure else "ready"

    @property
    def permalink_url(self) -> str:
        return f"https://www.facebook.com/{self.page_id}/videos/{self.id}/"


def check_schedule(published: bool, scheduled_at: float | None, now: float) -> None:
    if scheduled_at is None:
        return
    if published:
        raise PageRefused("scheduled_but_published")
    if not SCHEDULE_MIN_SECONDS <= scheduled_at - now <= SCHEDULE_MAX_SECONDS:
        raise PageRefused("schedule_window")


class PageContent:
    def __init__(self, new_id: Callable[[], str], ledger: Ledger) -> None:
        self._new_id = new_id
        self._ledger = ledger
        self.posts: dict[str, PagePost] = {}
        self.photos: dict[str, PagePhoto] = {}
        self.videos: dict[str, PageVideo] = {}

    def check_duplicate(self, page_id: str, message: str | None, now: float) -> None:
        """Graph refuses the same status message on a Page twice within a short time (code 506)."""
        if not message:
            return
        if any(p.page_id == page_id and p.message == message and p.live and not p.scheduled
               and 0 <= now - p.created_at < DUPLICATE_WINDOW_SECONDS for p in self.posts.values()):
            raise PageRefused("duplicate")

    def check_attachable(self, page_id: str, photo_ids: list[str]) -> None:
        for index, photo_id in enumerate(photo_ids):
            photo = self.photos.get(photo_id)
            if photo is None or photo.page_id != page_id or photo.post_id is not None:
                raise PageRefused("not_attachable", f"attached_media[{index}]")

    def add_post(self, page_id: str, *, kind: PostKind, message: str | None, now: float, link: str | None = None,
                 published: bool = True, scheduled_at: float | None = None, goes_live_at: float | None = None,
                 object_id: str | None = None, attached: tuple[str, ...] = (),
                 media_urls: tuple[str, ...] = ()) -> PagePost:
        live = published or scheduled_at is not None
        post = PagePost(id=f"{page_id}_{self._new_id()}", page_id=page_id, kind=kind, message=message, link=link,
                        created_at=max(goes_live_at or now, scheduled_at or now), live=live,
                        scheduled=scheduled_at is not None, object_id=object_id, attached=attached)
        self.posts[post.id] = post
        if live:
            self._ledger.record_publish(Publish(
                platform="facebook", account=page_id, kind=kind, id=post.id, at=post.created_at, text=message,
                media_urls=media_urls, post_id=post.id, object_id=object_id,
                details={"message": message, "link": link, "scheduled": post.scheduled}))
        return post

    def add_photo(self, page_id: str, *, url: str, caption: str | None, published: bool, scheduled_at: float | None,
                  now: float) -> PagePhoto:
        photo = PagePhoto(id=self._new_id(), page_id=page_id, url=url, caption=caption, created_at=now, post_id=None)
        self.photos[photo.id] = photo
        if published or scheduled_at is not None:
            post = self.add_post(page_id, kind="photo", message=caption, now=now, published=published,
                                 scheduled_at=scheduled_at, object_id=photo.id, media_urls=(url,))
            photo.post_id = post.id
        return photo

    def add_feed_post(self, page_id: str, *, message: str | None, link: str | None, published: bool,
                      scheduled_at: float | None, attached: list[str], now: float) -> PagePost:
        urls = tuple(self.photos[photo_id].url for photo_id in attached)
        post = self.add_post(page_id, kind="photos" if attached else "feed", message=message, link=link, now=now,
                             published=published, scheduled_at=scheduled_at, attached=tuple(attached),
                             media_urls=urls)
        for photo_id in attached:
            self.photos[photo_id].post_id = post.id
        return post

    def add_video(self, page_id: str, *, file_url: str, title: str | None, description: str | None, published: bool,
                  scheduled_at: float | None, failure: VideoFailure | None, ready_at: float, now: float) -> PageVideo:
        """The page post appears once the video is ready (or at its scheduled time, if later); never when the video
        failed."""
        video = PageVideo(id=self._new_id(), page_id=page_id, file_url=file_url, title=title, description=description,
                          created_at=now, ready_at=ready_at, failure=failure, post_id=None)
        self.videos[video.id] = video
        if failure is None and (published or scheduled_at is not None):
            post = self.add_post(page_id, kind="video", message=description, now=now, published=published,
                                 scheduled_at=scheduled_at, goes_live_at=ready_at, object_id=video.id,
                                 media_urls=(file_url,))
            video.post_id = post.id
        return video

    def live_posts(self, page_id: str, now: float, since: float | None = None,
                   until: float | None = None) -> list[PagePost]:
        chosen = [p for p in self.posts.values() if p.page_id == page_id and p.visible(now)
                  and (since is None or p.created_at >= since) and (until is None or p.created_at <= until)]
        return sorted(chosen, key=lambda p: (p.created_at, p.id), reverse=True)

    def page_of(self, object_id: str) -> str | None:
        for table in (self.posts, self.photos, self.videos):
            item = table.get(object_id)
            if item is not None:
                return item.page_id
        return None
