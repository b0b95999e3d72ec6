"""Instagram content publishing, the same on graph.facebook.com (accounts linked to a Page; Facebook user or Page
tokens with instagram_content_publish) and graph.instagram.com (Instagram Login tokens with
instagram_business_content_publish): media containers, media_publish, the account's media, and the container and
media views that GET /{id} answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sandbox.errors import GraphError
from sandbox.facebook import caller_token, instagram_for
from sandbox.facebook_publishing import paged
from sandbox.fetch import media_fetcher
from sandbox.instagram import instagram_caller, own_account
from sandbox.instagram_content import (
    Container,
    ContainerKind,
    InstagramMedia,
    InstagramRefused,
    MediaFailure,
    check_caption,
    image_failure,
    video_failure,
)
from sandbox.state import InstagramAccount, SandboxState
from sandbox.web import (
    graph_time,
    original_path,
    param_bool,
    parse_time,
    read_params,
    requested_fields,
    sandbox_state,
    select_fields,
)

facebook_router = APIRouter(prefix="/facebook-graph")
instagram_router = APIRouter(prefix="/instagram-graph")

OPTION_FIELDS = ("share_to_feed", "cover_url", "thumb_offset", "alt_text", "audio_name", "collaborators",
                 "location_id", "user_tags")


def _no_publish_permission() -> GraphError:
    return GraphError("(#10) Application does not have permission for this action", code=10, status_code=403)


def _facebook_account(state: SandboxState, request: Request, params: dict[str, str], node: str, *,
                      publishing: bool) -> InstagramAccount:
    caller = caller_token(state, request, params)
    account = instagram_for(state, request, caller, node)
    if publishing and "instagram_content_publish" not in caller.scopes:
        raise _no_publish_permission()
    return account


def _instagram_account(state: SandboxState, request: Request, params: dict[str, str], node: str, *,
                       publishing: bool) -> InstagramAccount:
    caller = instagram_caller(state, request, params)
    account = own_account(state, request, caller, node)
    if publishing and "instagram_business_content_publish" not in caller.scopes:
        raise _no_publish_permission()
    return account


def _graph_error(code: int, subcode: int | None, message: str, title: str, user_message: str) -> GraphError:
    return GraphError(message, code=code, subcode=subcode, is_transient=False, error_user_title=title,
                      error_user_msg=user_message)


def _failure_error(failure: MediaFailure) -> GraphError:
    return _graph_error(failure.code, failure.subcode, failure.message, failure.user_title, failure.message)


def refusal_error(exc: InstagramRefused) -> GraphError:
    problem = exc.problem
    if problem == "failed" and exc.failure is not None:
        return _failure_error(exc.failure)
    errors: dict[str, tuple[int, int | None, str, str, str]] = {
        "caption_too_long": (36004, 2207010, "The caption is too long.", "Caption too long",
                             "The caption may be at most 2200 characters long."),
        "too_many_hashtags": (100, 2207040, "(#100) The caption contains too many hashtags.", "Too many hashtags",
                              "A caption may contain at most 30 hashtags."),
        "too_many_mentions": (100, 2207040, "(#100) The caption contains too many tags.", "Too many tags",
                              "A caption may mention (@) at most 20 accounts."),
        "children_count": (100, 2207028, "(#100) The carousel must have between 2 and 10 children.",
                           "Invalid number of carousel items", "A carousel holds 2 to 10 photos or videos."),
        "child_invalid": (24, 2207006, f"The media with id {exc.detail} cannot be found or used as a carousel item.",
                          "Media not found", "A carousel child must be an unpublished, unexpired carousel item "
                                             "(is_carousel_item=true) of this account."),
        "image_format": (36001, 2207005, "The image format is not supported.", "Unsupported format",
                         "The image format is not supported. Supported formats are: JPEG."),
        "image_too_large": (36000, 2207004, "The image size is too large.", "Image size too large",
                            "The image is too large to download. It should be less than 8 MiB."),
        "aspect_ratio": (36003, 2207009, "The submitted image's aspect ratio is not supported.",
                         "Aspect ratio not supported", "The aspect ratio must be between 4:5 and 1.91:1."),
        "not_found": (24, 2207006, f"The media with id {exc.detail} cannot be found.", "Media not found",
                      "The media container does not exist or does not belong to this account."),
        "carousel_item": (100, None, "(#100) A carousel item cannot be published on its own.",
                          "Carousel item", "Publish the carousel container that holds this item instead."),
        "already_published": (100, None, "(#100) This media container has already been published.",
                              "Media already published", "The container was published before; it can be "
                                                         "published only once."),
        "expired": (-2, 2207020, "The media has expired.", "Media expired",
                    "The media container was not published within 24 hours. Create a new one."),
        "not_ready": (9007, 2207027, "Media ID is not available", "Media not ready for publishing",
                      "The media is not ready for publishing, please wait for a moment"),
        "quota": (9, 2207042, "You reached maximum number of posts that is allowed to be published by Content "
                              "Publishing API.", "Publishing limit reached",
                  "The account has reached its limit of API-published posts within 24 hours."),
    }
    code, subcode, message, title, user_message = errors[problem]
    return _graph_error(code, subcode, message, title, user_message)


def _container_kind(media_type: str | None, carousel_item: bool, image_url: str | None,
                    video_url: str | None) -> ContainerKind:
    def required(name: str) -> GraphError:
        return GraphError(f"(#100) The parameter {name} is required.", code=100)

    if media_type in (None, "IMAGE"):
        if not image_url:
            raise required("video_url with media_type=REELS" if video_url else "image_url")
        return "carousel_image" if carousel_item else "image"
    if media_type == "CAROUSEL":
        return "carousel"
    if media_type == "STORIES":
        if not (image_url or video_url):
            raise required("image_url or video_url")
        return "story"
    if media_type in ("REELS", "VIDEO"):
        if not video_url:
            raise required("video_url")
        if media_type == "VIDEO" and not carousel_item:
            raise GraphError("(#100) The VIDEO media type is only supported for carousel items; publish single "
                             "videos with media_type=REELS.", code=100, subcode=2207023)
        return "carousel_video" if media_type == "VIDEO" else "reel"
    raise GraphError(f"(#100) The media type {media_type} is not supported.", code=100, subcode=2207023)


async def _create_container(state: SandboxState, request: Request, params: dict[str, str],
                            account: InstagramAccount) -> dict[str, Any]:
    media_type = (params.get("media_type") or "").upper() or None
    image_url, video_url = params.get("image_url") or None, params.get("video_url") or None
    kind = _container_kind(media_type, param_bool(params.get("is_carousel_item"), False), image_url, video_url)
    with_caption = kind in ("image", "reel", "carousel")
    caption = (params.get("caption") or None) if with_caption else None
    options: dict[str, Any] = {name: params[name] for name in OPTION_FIELDS if name in params}
    children: list[str] = []
    failure: MediaFailure | None = None
    media_url: str | None = None
    content = state.instagram_content
    try:
        check_caption(caption)
        if kind == "carousel":
            children = [c.strip() for c in params.get("children", "").split(",") if c.strip()]
            content.check_children(account.id, children, state.now())
        else:
            media_url = image_url if kind in ("image", "carousel_image") or (kind == "story" and image_url) \
                else video_url
            assert media_url is not None
            facts = await media_fetcher(request).fetch(media_url)
            if media_url == image_url:
                failure = image_failure(facts, kind)
            else:
                options["video"] = True
                failure = video_failure(facts, kind)
    except InstagramRefused as exc:
        raise refusal_error(exc) from None
    settings = state.settings
    container = content.create_container(
        account.id, kind=kind, caption=caption, media_url=media_url, children=tuple(children), failure=failure,
        now=state.now(), processing_seconds=settings.instagram_processing_seconds,
        ttl_seconds=settings.instagram_container_ttl_seconds, options=options)
    return {"id": container.id}


def _publish(state: SandboxState, request: Request, params: dict[str, str],
             account: InstagramAccount) -> dict[str, Any]:
    creation_id = params.get("creation_id")
    if not creation_id:
        raise GraphError("(#100) The parameter creation_id is required.", code=100)
    try:
        media = state.instagram_content.publish(account.id, account.username, creation_id, now=state.now(),
                                                quota_total=state.settings.instagram_quota_total)
    except InstagramRefused as exc:
        if exc.problem == "quota":
            state.record_breach("instagram", "content_publishing_limit", account.id, original_path(request))
        raise refusal_error(exc) from None
    return {"id": media.id}


def _media_list(state: SandboxState, request: Request, params: dict[str, str],
                account: InstagramAccount) -> dict[str, Any]:
    try:
        since, until = parse_time(params.get("since")), parse_time(params.get("until"))
    except ValueError:
        raise GraphError("(#100) since and until must be UNIX timestamps or ISO 8601 times", code=100) from None
    fields = requested_fields(params.get("fields")) or ["id"]
    media = state.instagram_content.media_of(account.id, since, until)
    return paged(request, [media_view(m, fields) for m in media], params)


def _stories(state: SandboxState, request: Request, params: dict[str, str],
             account: InstagramAccount) -> dict[str, Any]:
    fields = requested_fields(params.get("fields")) or ["id"]
    stories = state.instagram_content.stories_of(account.id, state.now())
    return paged(request, [media_view(m, fields) for m in stories], params)


def media_view(media: InstagramMedia, fields: list[str]) -> dict[str, Any]:
    available: dict[str, Any] = {
        "id": media.id, "media_type": media.media_type, "media_product_type": media.media_product_type,
        "caption": media.caption, "permalink": media.permalink, "shortcode": media.shortcode,
        "timestamp": graph_time(media.created_at), "username": media.username, "media_url": media.media_url,
        "thumbnail_url": media.options.get("cover_url"), "owner": {"id": media.account_id},
        "is_shared_to_feed": param_bool(media.options.get("share_to_feed"), True) if media.kind == "reel" else None,
        "children": {"data": [{"id": c} for c in media.children]} if media.children else None,
        "like_count": 0, "comments_count": 0,
    }
    return select_fields(available, fields or ["id"], "IGMedia")


def container_view(state: SandboxState, container: Container, fields: list[str]) -> dict[str, Any]:
    now = state.now()
    available: dict[str, Any] = {
        "id": container.id, "status_code": state.instagram_content.status_code(container, now),
        "status": state.instagram_content.status_text(container, now),
    }
    return select_fields(available, fields or ["id"], "ShadowIGMediaBuilder")


def instagram_object_view(state: SandboxState, object_id: str, fields: list[str]) -> dict[str, Any]:
    """GET /{id} for a container or a published media of an account the caller may see."""
    content = state.instagram_content
    if (container := content.containers.get(object_id)) is not None:
        return container_view(state, container, fields)
    return media_view(content.media[object_id], fields)


@facebook_router.post("/{node}/media")
async def create_container_via_page(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return await _create_container(state, request, params,
                                   _facebook_account(state, request, params, node, publishing=True))


@instagram_router.post("/{node}/media")
async def create_container(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return await _create_container(state, request, params,
                                   _instagram_account(state, request, params, node, publishing=True))


@facebook_router.post("/{node}/media_publish")
async def publish_via_page(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return _publish(state, request, params, _facebook_account(state, request, params, node, publishing=True))


@instagram_router.post("/{node}/media_publish")
async def publish(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return _publish(state, request, params, _instagram_account(state, request, params, node, publishing=True))


@facebook_router.get("/{node}/media")
async def media_via_page(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return _media_list(state, request, params, _facebook_account(state, request, params, node, publishing=False))


@instagram_router.get("/{node}/media")
async def media(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return _media_list(state, request, params, _instagram_account(state, request, params, node, publishing=False))


@facebook_router.get("/{node}/stories")
async def stories_via_page(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return _stories(state, request, params, _facebook_account(state, request, params, node, publishing=False))


@instagram_router.get("/{node}/stories")
async def stories(node: str, request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    params = await read_params(request)
    return _stories(state, request, params, _instagram_account(state, request, params, node, publishing=False))
