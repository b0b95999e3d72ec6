"""HTTP entry points of the publisher, behind the gateway."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Discriminator, Field, Tag

from services.publisher import rules
from services.publisher.service import Draft, Listing, PostService, TargetDraft
from services.publisher.tables import Post, Target, TargetEvent
from shared.contracts.media import MediaProbe
from shared.errors import ERROR_RESPONSES, BadRequest
from shared.http.callers import CallerDep, VerifiedDep
from shared.http.errors import refuse_other_methods
from shared.validation import Instant, StrictModel, sane


class UrlMediaIn(StrictModel):
    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")
    type: Literal["image", "video"]
    alt_text: str | None = Field(default=None, max_length=1000)
    duration_sec: float | None = Field(default=None, ge=0, le=36000)


class LibraryMediaIn(StrictModel):
    media_id: uuid.UUID = Field(description="An item of the person's media library (GET /api/v1/media).")
    alt_text: str | None = Field(default=None, max_length=1000)


def _media_kind(value: Any) -> str:
    """A medium naming a media_id is a library item; anything else is read as a URL medium."""
    if isinstance(value, dict):
        return "library" if "media_id" in value else "url"
    return "library" if isinstance(value, LibraryMediaIn) else "url"


MediaIn = Annotated[Annotated[UrlMediaIn, Tag("url")] | Annotated[LibraryMediaIn, Tag("library")],
                    Discriminator(_media_kind)]


class MediaOut(BaseModel):
    media_id: uuid.UUID | None = Field(description="The library item; null for media given by URL.")
    type: str
    name: str | None
    alt_text: str | None
    url: str | None = Field(description="The URL given; null for library media (platforms get a signed URL "
                                        "when the post is published).")
    thumbnail_url: str | None = Field(description="A small JPEG of a library item; null for URL media.")
    duration_sec: float | None = None
    probe: MediaProbe | None = Field(description="What the media service found in the file; null when unprobed.")


TARGET_CAPTION = ("This account's own caption, checked against its platform's rules (Instagram's 2,200 characters "
                  "and 30 hashtags, for one) instead of the post's. null or absent: the post's caption; \"\": no "
                  "text on this account.")


class TargetIn(StrictModel):
    account_id: uuid.UUID
    settings: dict[str, Any] = Field(default_factory=dict, max_length=32,
                                     description="Per-platform settings; each platform takes its own.")
    caption: str | None = Field(default=None, max_length=10000, description=TARGET_CAPTION)


class TargetPatch(StrictModel):
    account_id: uuid.UUID = Field(description="Which of the post's targets, by its account.")
    caption: str | None = Field(default=None, max_length=10000, description=TARGET_CAPTION)


class PostIn(StrictModel):
    caption: str = Field(default="", max_length=10000)
    media: list[MediaIn] = Field(default_factory=list, max_length=35)
    targets: list[TargetIn] = Field(min_length=1, max_length=25)
    scheduled_at: Instant | None = None
    timezone: str | None = Field(default=None, max_length=64)
    draft: bool = False


class PostPatch(StrictModel):
    """Only the fields sent change; `scheduled_at` and `timezone` may be null (publish now, no zone)."""

    caption: str = Field(default="", max_length=10000)
    media: list[MediaIn] = Field(default_factory=list, max_length=35)
    scheduled_at: Instant | None = None
    timezone: str | None = Field(default=None, max_length=64)
    draft: bool = False
    targets: list[TargetPatch] = Field(
        default_factory=list, max_length=25,
        description="Caption changes for some of the post's targets; the others keep theirs. Targets themselves "
                    "are not added or removed here.")


class TimelineEntry(BaseModel):
    at: datetime
    step: str
    status: str
    request: str | None
    response_code: str | None
    platform_ids: dict[str, Any] | None
    error_class: str | None
    message: str | None


class TargetOut(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    platform: str
    kind: str
    status: str
    settings: dict[str, Any]
    caption: str | None = Field(description="This account's own caption; null when it publishes the post's.")
    due_at: datetime | None
    attempts: int
    remote_id: str | None
    permalink: str | None
    error_class: str | None
    error_message: str | None
    needs_review: bool
    finished_at: datetime | None
    timeline: list[TimelineEntry] | None = None


class PostOut(BaseModel):
    id: uuid.UUID
    caption: str
    media: list[MediaOut]
    scheduled_at: datetime | None
    timezone: str | None
    draft: bool
    status: str
    due_at: datetime | None = Field(description="When the post is due (its targets' due time; the creation time for "
                                    "one published at once); null for a draft given no time.")
    created_at: datetime
    updated_at: datetime
    targets: list[TargetOut]


class CheckOut(BaseModel):
    problems: list[dict[str, Any]] = Field(description="Always empty: a post with problems is answered 422.")


class PostList(BaseModel):
    items: list[PostOut]
    next_cursor: str | None


def post_status(post: Post, targets: list[Target]) -> str:
    statuses = {t.status for t in targets}
    if post.draft:
        return "draft"
    if statuses <= rules.FINAL:
        return "completed"
    return "scheduled" if statuses <= {rules.SCHEDULED} else "in_progress"


def render(post: Post, targets: list[Target], events: list[TargetEvent] | None = None) -> dict[str, Any]:
    by_target: dict[uuid.UUID, list[TimelineEntry]] = {}
    for e in events or []:
        by_target.setdefault(e.target_id, []).append(TimelineEntry(
            at=e.at, step=e.step, status=e.status, request=e.request, response_code=e.response_code,
            platform_ids=e.platform_ids, error_class=e.error_class, message=e.message))
    return PostOut(
        id=post.id, caption=post.caption,
        media=[MediaOut.model_validate(rules.Media.from_stored(m).shown()) for m in post.media],
        scheduled_at=post.scheduled_at, timezone=post.timezone, draft=post.draft, status=post_status(post, targets),
        due_at=post.due_at, created_at=post.created_at, updated_at=post.updated_at, targets=[TargetOut(
            id=t.id, account_id=t.account_id, platform=t.platform, kind=t.kind, status=t.status, settings=t.settings,
            caption=t.caption, due_at=t.due_at, attempts=t.attempts, remote_id=t.remote_id, permalink=t.permalink,
            error_class=t.error_class, error_message=t.error_message, needs_review=t.needs_review,
            finished_at=t.finished_at, timeline=by_target.get(t.id, []) if events is not None else None)
            for t in targets]).model_dump(mode="json")


Sort = Literal["created", "due", "due_asc"]
# A due-sorted cursor names its sort ("due" or "due_asc"); a creation-sorted one keeps the shape it always had.


def encode_cursor(post: Post, sort: Sort) -> str:
    if sort != "created":
        assert post.due_at is not None  # the due-sorted list holds only posts with a due time
        text = f"{sort}|{post.due_at.isoformat()}|{post.id}"
    else:
        text = f"{post.created_at.isoformat()}|{post.id}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, sort: Sort) -> tuple[datetime, uuid.UUID]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if sort != "created":
            marker, at, post_id = parts
            if marker != sort:
                raise ValueError(marker)
        else:
            at, post_id = parts
        moment = sane(datetime.fromisoformat(at))
        return moment.replace(tzinfo=moment.tzinfo or UTC), uuid.UUID(post_id)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The cursor is not one this API gave out for this sort.", code="invalid_cursor") from None


LIST_DESCRIPTION = (
    "The person's posts, newest first: by creation (sort=created, the default) or by due time (sort=due, for a "
    "calendar), or soonest due first (sort=due_asc). A post's due time is when its targets were scheduled to go "
    "out (its creation time when published at once); a draft given no time has none, so the due sorts, due_from "
    "and due_to leave it out (sort=created lists it). Page with next_cursor, under the same sort and filters.")
DUE_FROM = "Only posts due at or after this time (RFC 3339, with an offset)."
DUE_TO = "Only posts due before this time (RFC 3339, with an offset): due_from is inclusive, due_to exclusive."
SORT = ("created: newest created first. due: latest due time first; due_asc: soonest due time first (what is "
        "coming up, with due_from=now). Both due sorts leave out drafts with no due time. Ties are broken by id.")
CURSOR = ("next_cursor of the previous page, with the same sort; a cursor from the other sort is refused (400 "
          "invalid_cursor).")


def medium(given: UrlMediaIn | LibraryMediaIn) -> rules.Media:
    """As the person gave it; a library item's type, name and probe are filled in from the media service."""
    if isinstance(given, LibraryMediaIn):
        return rules.Media(url=None, type="image", alt_text=given.alt_text, media_id=given.media_id)
    return rules.Media(**given.model_dump())


def draft_of(body: PostIn) -> Draft:
    return Draft(caption=body.caption, media=[medium(m) for m in body.media],
                 targets=[TargetDraft(t.account_id, t.settings, t.caption) for t in body.targets],
                 scheduled_at=body.scheduled_at,
                 timezone=body.timezone, draft=body.draft)


def build_router(service: PostService) -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["posts"])

    @api.post("/posts", status_code=201, response_model=PostOut)
    async def create(body: PostIn, caller: VerifiedDep, response: Response,
                     idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> dict[str, Any]:
        post, created = await service.create(caller.user_id, draft_of(body), idempotency_key=idempotency_key,
                                             body=body.model_dump(mode="json"), render=render)
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return post

    @api.post("/posts/check", response_model=CheckOut,
              summary="What creating this post would refuse, without creating it",
              description="The same body as POST /posts. Nothing is stored and no quota is spent: 200 with no "
                          "problems, or the 422 creation would answer, with the same details.")
    async def check(body: PostIn, caller: VerifiedDep) -> CheckOut:
        await service.dry_run(caller.user_id, draft_of(body))
        return CheckOut(problems=[])

    refuse_other_methods(api, "/posts/check", "POST")

    @api.get("/posts", response_model=PostList, description=LIST_DESCRIPTION)
    async def list_posts(caller: CallerDep, status: Annotated[str | None, Query(max_length=20)] = None,
                         account_id: uuid.UUID | None = None, created_from: Instant | None = None,
                         created_to: Instant | None = None,
                         due_from: Annotated[Instant | None, Query(description=DUE_FROM)] = None,
                         due_to: Annotated[Instant | None, Query(description=DUE_TO)] = None,
                         sort: Annotated[Sort, Query(description=SORT)] = "created",
                         cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
                         limit: Annotated[int, Query(ge=1, le=100)] = 20) -> PostList:
        if status is not None and status not in rules.STATUSES:
            raise BadRequest(f"status is one of {', '.join(rules.STATUSES)}.", code="invalid_status")
        rows = await service.list_posts(caller.user_id, Listing(
            limit=limit, status=status, account_id=account_id, created_from=_utc(created_from),
            created_to=_utc(created_to), due_from=_utc(due_from), due_to=_utc(due_to), by_due=sort != "created",
            ascending=sort == "due_asc",
            before=decode_cursor(cursor, sort) if cursor else None))
        items = [PostOut.model_validate(render(p, t)) for p, t in rows]
        return PostList(items=items, next_cursor=encode_cursor(rows[-1][0], sort) if len(rows) == limit else None)

    @api.get("/posts/{post_id}", response_model=PostOut)
    async def get(post_id: uuid.UUID, caller: CallerDep) -> dict[str, Any]:
        return render(*await service.get(caller.user_id, post_id))

    @api.patch("/posts/{post_id}", response_model=PostOut)
    async def update(post_id: uuid.UUID, body: PostPatch, caller: VerifiedDep) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        if "media" in changes:
            changes["media"] = [medium(m) for m in body.media]
        await service.update(caller.user_id, post_id, changes)
        return render(*await service.get(caller.user_id, post_id))

    @api.post("/posts/{post_id}/cancel", response_model=PostOut)
    async def cancel(post_id: uuid.UUID, caller: CallerDep) -> dict[str, Any]:
        await service.cancel(caller.user_id, post_id)
        return render(*await service.get(caller.user_id, post_id))

    @api.post("/posts/{post_id}/targets/{target_id}/retry", response_model=PostOut)
    async def retry(post_id: uuid.UUID, target_id: uuid.UUID, caller: VerifiedDep) -> dict[str, Any]:
        await service.retry(caller.user_id, post_id, target_id)
        return render(*await service.get(caller.user_id, post_id))

    return api


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
