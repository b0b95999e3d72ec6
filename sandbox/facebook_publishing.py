"""graph.facebook.com, Page publishing: feed posts (with links, scheduling and attached photos), photos, hosted
videos, the Page's posts for reconciliation, and the views of posts, photos and videos that GET /{id} answers."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request

from sandbox.errors import GraphError, graph_unsupported_request
from sandbox.facebook import caller_token, check_page_token_target, decode_graph_cursor, graph_cursor
from sandbox.facebook_content import PagePhoto, PagePost, PageRefused, PageVideo, VideoFailure, check_schedule
from sandbox.fetch import media_fetcher
from sandbox.state import FacebookPage, SandboxState, Token
from sandbox.web import (
    graph_time,
    note_business_use,
    param_bool,
    parse_time,
    request_fields,
    requested_fields,
    sandbox_state,
    select_fields,
)

router = APIRouter(prefix="/facebook-graph")

PUBLISH_SCOPES = ("pages_manage_posts", "pages_read_engagement")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
POST_DEFAULT_FIELDS = ["created_time", "message", "id"]
STATUS_TYPES = {"feed": "mobile_status_update", "photo": "added_photos", "photos": "added_photos",
                "video": "added_video"}
_INDEXED_ATTACHMENT = re.compile(r"^attached_media\[(\d+)\]$")
VIDEO_FETCH_FAILED = VideoFailure(6000, "There was a problem uploading your video file. Please try again with "
                                        "another file.")
VIDEO_FORMAT = VideoFailure(352, "Sorry, the video file you selected is in a format that we don't support.")


def _permission_error(message: str) -> GraphError:
    return GraphError(f"(#200) {message}", code=200, status_code=403)


def _publishing_page(state: SandboxState, request: Request, params: dict[str, str], node: str) -> FacebookPage:
    """The Page a publishing call addresses, which needs that Page's own token, the CREATE_CONTENT task and the
    publishing permissions."""
    caller = caller_token(state, request, params)
    page = state.facebook.pages.get(caller.subject if node == "me" else node)
    if page is None:
        raise graph_unsupported_request(request.method, node)
    if caller.kind != "page":
        raise _permission_error("Publishing to a Page requires a Page access token of that Page.")
    check_page_token_target(caller, page)
    note_business_use(request, page.id, "pages")
    if "CREATE_CONTENT" not in page.tasks:
        raise _permission_error("The user does not have the CREATE_CONTENT task on this Page.")
    if any(scope not in caller.scopes for scope in PUBLISH_SCOPES):
        raise _permission_error("If posting to a page, requires both pages_read_engagement and pages_manage_posts "
                                "as an admin with sufficient administrative permission")
    return page


def check_page_reader(request: Request, caller: Token, page: FacebookPage, node: str) -> None:
    """Page content can be read with that Page's token or the token of the user who manages it."""
    allowed = caller.subject == page.id if caller.kind == "page" else caller.subject == page.owner_id
    if not allowed:
        raise graph_unsupported_request(request.method, node)
    note_business_use(request, page.id, "pages")


def _refusal(exc: PageRefused) -> GraphError:
    if exc.problem == "duplicate":
        return GraphError("(#506) Duplicate status message", code=506, is_transient=False,
                          error_user_title="Duplicate post",
                          error_user_msg="This status update is identical to the last one you posted.")
    if exc.problem == "scheduled_but_published":
        return GraphError("(#100) You cannot specify a scheduled publish time on a published post", code=100)
    if exc.problem == "schedule_window":
        return GraphError("(#100) The specified scheduled publish time is invalid.", code=100,
                          error_user_msg="The scheduled publish time must be between 10 minutes and 30 days from "
                                         "the time of the request.")
    return GraphError(f"(#100) {exc.detail} must reference an unpublished photo of this Page by media_fbid",
                      code=100)


def _scheduling(params: dict[str, str], now: float) -> tuple[bool, float | None]:
    published = param_bool(params.get("published"), True)
    try:
        scheduled_at = parse_time(params.get("scheduled_publish_time"))
    except ValueError:
        raise GraphError("(#100) Invalid parameter scheduled_publish_time", code=100) from None
    try:
        check_schedule(published, scheduled_at, now)
    except PageRefused as exc:
        raise _refusal(exc) from None
    return published, scheduled_at


def _attached_media(fields: list[tuple[str, str]]) -> list[str]:
    """attached_media as a JSON list, or indexed form fields attached_media[0]={"media_fbid": "..."}."""
    indexed: list[tuple[int, str]] = []
    listed: list[str] = []
    for name, value in fields:
        match = _INDEXED_ATTACHMENT.match(name)
        if name != "attached_media" and match is None:
            continue
        try:
            document = json.loads(value)
        except ValueError:
            raise GraphError(f"(#100) param {name} must be JSON", code=100) from None
        items = document if name == "attached_media" and isinstance(document, list) else [document]
        ids = [_media_fbid(name, item) for item in items]
        if match is not None:
            indexed += [(int(match.group(1)), media_id) for media_id in ids]
        else:
            listed += ids
    return listed + [media_id for _, media_id in sorted(indexed)]


def _media_fbid(name: str, item: Any) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("media_fbid"), str | int):
        raise GraphError(f"(#100) param {name} must be an object with a media_fbid", code=100)
    return str(item["media_fbid"])


@router.post("/{node}/feed")
async def publish_feed(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    fields = await request_fields(request)
    params = dict(fields)
    page = _publishing_page(state, request, params, node)
    now = state.now()
    published, scheduled_at = _scheduling(params, now)
    message = params.get("message") or None
    link = params.get("link") or None
    attached = _attached_media(fields)
    if not (message or link or attached):
        raise GraphError("(#100) Missing message or attachment", code=100)
    content = state.pages_content
    try:
        content.check_attachable(page.id, attached)
        if published:
            content.check_duplicate(page.id, message, now)
    except PageRefused as exc:
        raise _refusal(exc) from None
    post = content.add_feed_post(page.id, message=message, link=link, published=published,
                                 scheduled_at=scheduled_at, attached=attached, now=now)
    return {"id": post.id}


@router.post("/{node}/photos")
async def publish_photo(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = dict(await request_fields(request))
    page = _publishing_page(state, request, params, node)
    url = params.get("url")
    if not url:
        raise GraphError("(#324) Requires upload file", code=324)
    published, scheduled_at = _scheduling(params, state.now())
    caption = params.get("caption") or params.get("message") or None
    content = state.pages_content
    try:
        if published:
            content.check_duplicate(page.id, caption, state.now())
    except PageRefused as exc:
        raise _refusal(exc) from None
    facts = await media_fetcher(request).fetch(url)
    if not facts.is_image:
        raise GraphError("(#324) Missing or invalid image file", code=324)
    photo = content.add_photo(page.id, url=url, caption=caption, published=published, scheduled_at=scheduled_at,
                              now=state.now())
    return {"id": photo.id, "post_id": photo.post_id} if published else {"id": photo.id}


@router.post("/{node}/videos")
async def publish_video(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = dict(await request_fields(request))
    page = _publishing_page(state, request, params, node)
    file_url = params.get("file_url")
    if not file_url:
        raise GraphError("(#100) Either file_url or source must be specified", code=100)
    published, scheduled_at = _scheduling(params, state.now())
    facts = await media_fetcher(request).fetch(file_url)
    failure = None if facts.is_video else VIDEO_FORMAT if facts.ok else VIDEO_FETCH_FAILED
    now = state.now()
    video = state.pages_content.add_video(
        page.id, file_url=file_url, title=params.get("title") or None,
        description=params.get("description") or None, published=published, scheduled_at=scheduled_at,
        failure=failure, ready_at=now + state.settings.video_processing_seconds, now=now)
    return {"id": video.id}


@router.get("/{node}/posts")
@router.get("/{node}/published_posts")
@router.get("/{node}/feed")
async def page_posts(node: str, request: Request) -> dict[str, Any]:
    """The Page's live posts, newest first: what a client reconciles against after an unclear outcome."""
    state = sandbox_state(request)
    params = dict(await request_fields(request))
    caller = caller_token(state, request, params)
    page = state.facebook.pages.get(caller.subject if node == "me" else node)
    if page is None:
        raise graph_unsupported_request(request.method, node)
    check_page_reader(request, caller, page, node)
    try:
        since, until = parse_time(params.get("since")), parse_time(params.get("until"))
    except ValueError:
        raise GraphError("(#100) since and until must be UNIX timestamps or ISO 8601 times", code=100) from None
    posts = state.pages_content.live_posts(page.id, state.now(), since, until)
    fields = requested_fields(params.get("fields")) or POST_DEFAULT_FIELDS
    return paged(request, [post_view(page, p, fields) for p in posts], params)


def paged(request: Request, items: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    """One page of a newest-first list of nodes, with Graph's cursors and a next link while more remain."""
    limit = min(MAX_LIMIT, max(1, int(params["limit"]))) if params.get("limit", "").isdigit() else DEFAULT_LIMIT
    after = decode_graph_cursor(params.get("after"))
    ids = [item["id"] for item in items]
    start = ids.index(after) + 1 if after in ids else 0
    window = items[start:start + limit]
    body: dict[str, Any] = {"data": window}
    if window:
        body["paging"] = {"cursors": {"before": graph_cursor(window[0]["id"]), "after": graph_cursor(window[-1]["id"])}}
        if start + limit < len(items):
            body["paging"]["next"] = str(request.url.include_query_params(after=graph_cursor(window[-1]["id"])))
    return body



def post_view(page: FacebookPage, post: PagePost, fields: list[str]) -> dict[str, Any]:
    available: dict[str, Any] = {
        "id": post.id, "message": post.message, "created_time": graph_time(post.created_at),
        "updated_time": graph_time(post.created_at), "permalink_url": post.permalink_url,
        "is_published": post.live, "status_type": STATUS_TYPES[post.kind], "link": post.link,
        "from": {"name": page.name, "id": page.id},
    }
    return select_fields(available, fields or POST_DEFAULT_FIELDS, "Post")


def _photo_view(page: FacebookPage, photo: PagePhoto, fields: list[str]) -> dict[str, Any]:
    available: dict[str, Any] = {
        "id": photo.id, "created_time": graph_time(photo.created_at), "name": photo.caption,
        "link": photo.permalink_url, "permalink_url": photo.permalink_url, "page_story_id": photo.post_id,
        "images": [{"source": photo.url}], "from": {"name": page.name, "id": page.id},
    }
    return select_fields(available, fields or ["id", "created_time", "name"], "Photo")


def video_status(video: PageVideo, now: float) -> dict[str, Any]:
    """GET /{video-id}?fields=status: the overall video_status and its phases."""
    status = video.status(now)
    if status == "processing":
        return {"video_status": "processing", "uploading_phase": {"status": "complete"},
                "processing_phase": {"status": "in_progress"}, "publishing_phase": {"status": "not_started"}}
    if status == "error" and video.failure is not None:
        errors = [{"code": video.failure.code, "message": video.failure.message}]
        fetch_failed = video.failure.code == VIDEO_FETCH_FAILED.code
        return {"video_status": "error",
                "uploading_phase": {"status": "error", "errors": errors} if fetch_failed else {"status": "complete"},
                "processing_phase": {"status": "not_started"} if fetch_failed else {"status": "error",
                                                                                     "errors": errors},
                "publishing_phase": {"status": "not_started"}}
    publishing: dict[str, Any] = {"status": "complete", "publish_status": "published" if video.post_id else
                                  "not_published"}
    if video.post_id:
        publishing["publish_time"] = graph_time(video.ready_at)
    return {"video_status": "ready", "uploading_phase": {"status": "complete"},
            "processing_phase": {"status": "complete"}, "publishing_phase": publishing}


def _video_view(state: SandboxState, page: FacebookPage, video: PageVideo, fields: list[str]) -> dict[str, Any]:
    now = state.now()
    post = state.pages_content.posts.get(video.post_id or "")
    available: dict[str, Any] = {
        "id": video.id, "title": video.title, "description": video.description,
        "created_time": graph_time(video.created_at), "updated_time": graph_time(video.created_at),
        "permalink_url": video.permalink_url, "status": video_status(video, now),
        "published": post is not None and post.visible(now), "post_id": video.post_id,
        "source": video.file_url if video.status(now) == "ready" else None,
        "from": {"name": page.name, "id": page.id},
    }
    return select_fields(available, fields or ["id", "title", "description", "created_time"], "Video")


def page_object_view(state: SandboxState, request: Request, page: FacebookPage, object_id: str,
                     fields: list[str]) -> dict[str, Any]:
    """GET /{id} for a post, photo or video of `page`. A post that has not gone live yet (scheduled, or the post of
    a video still processing) does not exist yet."""
    content = state.pages_content
    if (post := content.posts.get(object_id)) is not None:
        if post.live and not post.visible(state.now()):
            raise graph_unsupported_request(request.method, object_id)
        return post_view(page, post, fields)
    if (photo := content.photos.get(object_id)) is not None:
        return _photo_view(page, photo, fields)
    return _video_view(state, page, content.videos[object_id], fields)
