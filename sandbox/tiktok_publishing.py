"""open.tiktokapis.com Content Posting: Direct Post video init, inbox (upload) video init, photo init, the status
endpoint, and the upload host the FILE_UPLOAD upload_url points at (open-upload.tiktokapis.com here under
/tiktok-upload). Bodies are JSON; answers are the v2 envelope."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.errors import TikTokApiError, tiktok_envelope
from sandbox.fetch import media_fetcher
from sandbox.media import SANDBOX_MEDIA_PATH, SANDBOX_MISSING_MEDIA_PATH
from sandbox.state import SandboxState, TikTokCreator, Token
from sandbox.tiktok import DAILY_CAP_MESSAGE, enforce_rate_limit, scope_not_authorized, tiktok_caller
from sandbox.tiktok_content import (
    VIDEO_TYPES,
    ChunkRefused,
    PublishTask,
    TaskKind,
    Upload,
    chunk_plan_problem,
    pulled_photos_problem,
    pulled_video_problem,
)
from sandbox.web import base_url, original_path, sandbox_state

api_router = APIRouter(prefix="/tiktok-api/v2/post/publish")
upload_router = APIRouter(prefix="/tiktok-upload")

INIT_PER_MINUTE = 6
STATUS_PER_MINUTE = 30
VIDEO_TITLE_MAX = 2200
PHOTO_TITLE_MAX = 90
PHOTO_DESCRIPTION_MAX = 4000
PHOTO_MAX_IMAGES = 35
# A creator whose privacy options include FOLLOWER_OF_CREATOR has a private account.
PRIVATE_ACCOUNT_OPTION = "FOLLOWER_OF_CREATOR"
# Where Postifys serves its signed media URLs, under its public URL.
POSTIFYS_MEDIA_PATH = "/media/files/"
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def _invalid(message: str) -> TikTokApiError:
    return TikTokApiError("invalid_param", message, status_code=400)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        document = json.loads(await request.body() or b"{}")
    except ValueError:
        raise _invalid("The request body must be a JSON object.") from None
    if not isinstance(document, dict):
        raise _invalid("The request body must be a JSON object.")
    return document


def _object(body: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    value = body.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{name} must be an object.")
    return value


def _integer(container: dict[str, Any], name: str) -> int:
    value = container.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(f"source_info.{name} must be an integer.")
    return value


def _text_length(text: str) -> int:
    """TikTok counts UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _check_text(post_info: dict[str, Any], name: str, limit: int) -> None:
    value = post_info.get(name)
    if value is not None and (not isinstance(value, str) or _text_length(value) > limit):
        raise _invalid(f"post_info.{name} must be a string of at most {limit} characters.")


def _check_post_info(state: SandboxState, creator: TikTokCreator, post_info: dict[str, Any], *,
                     title_limit: int) -> str:
    """The Direct Post rules; answers the privacy level."""
    privacy = post_info.get("privacy_level")
    if not isinstance(privacy, str) or not privacy:
        raise _invalid("post_info.privacy_level is required.")
    if state.settings.tiktok_unaudited and (
            privacy != "SELF_ONLY" or PRIVATE_ACCOUNT_OPTION not in creator.privacy_level_options):
        raise TikTokApiError("unaudited_client_can_only_post_to_private_accounts",
                             "Unaudited clients can only post to private accounts with privacy_level SELF_ONLY.",
                             status_code=403)
    if privacy not in creator.privacy_level_options:
        raise TikTokApiError("privacy_level_option_mismatch",
                             "The privacy_level is not one of the creator's privacy_level_options.", status_code=403)
    if post_info.get("brand_content_toggle") is True and privacy == "SELF_ONLY":
        raise _invalid("Branded content cannot be posted with privacy_level SELF_ONLY.")
    _check_text(post_info, "title", title_limit)
    cover = post_info.get("video_cover_timestamp_ms")
    if cover is not None and (not isinstance(cover, int) or isinstance(cover, bool) or cover < 0):
        raise _invalid("post_info.video_cover_timestamp_ms must be a non-negative integer.")
    return privacy


def _check_verified(state: SandboxState, request: Request, urls: list[str]) -> None:
    prefixes = state.settings.tiktok_verified_url_prefixes
    if prefixes is None:
        bases = dict.fromkeys((base_url(request), state.public_url))
        prefixes = [f"{base}{path}" for base in bases for path in (SANDBOX_MEDIA_PATH, SANDBOX_MISSING_MEDIA_PATH)]
        prefixes.append(f"{state.webhook_base_url}{POSTIFYS_MEDIA_PATH}")  # the prefix Postifys verified for its app
    for url in urls:
        if not any(url.startswith(prefix) for prefix in prefixes):
            raise TikTokApiError("url_ownership_unverified",
                                 "The domain or URL prefix of the media URL has not been verified for this app.",
                                 status_code=403)


def _check_daily_cap(state: SandboxState, request: Request, caller: Token) -> None:
    if state.tiktok_content.posts_today(caller.subject, state.now()) >= state.settings.tiktok_daily_post_cap:
        state.record_breach("tiktok", "daily_post_cap", caller.subject, original_path(request))
        raise TikTokApiError("spam_risk_too_many_posts", DAILY_CAP_MESSAGE, status_code=403)


async def _start_video(state: SandboxState, request: Request, caller: Token, kind: TaskKind,
                       post_info: dict[str, Any], source_info: dict[str, Any], *, private: bool) -> dict[str, Any]:
    source = source_info.get("source")
    sizes: list[int] = []
    url = ""
    if source == "FILE_UPLOAD":
        sizes = [_integer(source_info, n) for n in ("video_size", "chunk_size", "total_chunk_count")]
        if problem := chunk_plan_problem(*sizes):
            raise _invalid(problem)
    elif source == "PULL_FROM_URL":
        pulled = source_info.get("video_url")
        if not isinstance(pulled, str) or not pulled:
            raise _invalid("source_info.video_url is required for PULL_FROM_URL.")
        url = pulled
        _check_verified(state, request, [url])
    else:
        raise _invalid("source_info.source must be FILE_UPLOAD or PULL_FROM_URL.")
    _check_daily_cap(state, request, caller)
    content = state.tiktok_content
    settings = state.settings
    if source == "FILE_UPLOAD":
        video_size, chunk_size, chunk_count = sizes
        upload = Upload(upload_id=state.ids.numeric(), upload_token=secrets.token_urlsafe(16),
                        video_size=video_size, chunk_size=chunk_size, total_chunk_count=chunk_count,
                        expires_at=state.now() + settings.tiktok_upload_url_seconds)
        task = content.start(caller.subject, kind=kind, source="FILE_UPLOAD", now=state.now(), private=private,
                             post_info=post_info, upload=upload)
        upload_url = (f"{base_url(request)}/tiktok-upload/video/?upload_id={upload.upload_id}"
                      f"&upload_token={upload.upload_token}")
        return tiktok_envelope({"publish_id": task.publish_id, "upload_url": upload_url})
    facts = await media_fetcher(request).fetch(url, follow_redirects=False)
    creator = state.tiktok.creators[caller.subject]
    task = content.start(caller.subject, kind=kind, source="PULL_FROM_URL", now=state.now(), private=private,
                         post_info=post_info, media_urls=(url,))
    content.finish(task, done_at=state.now() + settings.tiktok_processing_seconds,
                   fail_reason=pulled_video_problem(facts, creator.max_video_post_duration_sec),
                   downloaded_bytes=facts.size or 0)
    return tiktok_envelope({"publish_id": task.publish_id})


@api_router.post("/video/init/")
async def video_init(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    caller = tiktok_caller(state, request, "video.publish")
    enforce_rate_limit(state, request, caller, "video_init", INIT_PER_MINUTE)
    body = await _json_body(request)
    post_info, source_info = _object(body, "post_info"), _object(body, "source_info")
    privacy = _check_post_info(state, state.tiktok.creators[caller.subject], post_info, title_limit=VIDEO_TITLE_MAX)
    return await _start_video(state, request, caller, "video", post_info, source_info,
                              private=privacy == "SELF_ONLY")


@api_router.post("/inbox/video/init/")
async def inbox_video_init(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    caller = tiktok_caller(state, request, "video.upload")
    enforce_rate_limit(state, request, caller, "inbox_init", INIT_PER_MINUTE)
    body = await _json_body(request)
    post_info = _object(body, "post_info", required=False)
    _check_text(post_info, "title", VIDEO_TITLE_MAX)
    return await _start_video(state, request, caller, "inbox", {"title": post_info.get("title")},
                              _object(body, "source_info"), private=True)


@api_router.post("/content/init/")
async def content_init(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    caller = tiktok_caller(state, request)
    enforce_rate_limit(state, request, caller, "content_init", INIT_PER_MINUTE)
    body = await _json_body(request)
    if body.get("media_type") != "PHOTO":
        raise _invalid("media_type must be PHOTO.")
    post_mode = body.get("post_mode")
    if post_mode not in ("DIRECT_POST", "MEDIA_UPLOAD"):
        raise _invalid("post_mode must be DIRECT_POST or MEDIA_UPLOAD.")
    if ("video.publish" if post_mode == "DIRECT_POST" else "video.upload") not in caller.scopes:
        raise scope_not_authorized()
    direct = post_mode == "DIRECT_POST"
    post_info = _object(body, "post_info", required=direct)
    privacy = (_check_post_info(state, state.tiktok.creators[caller.subject], post_info, title_limit=PHOTO_TITLE_MAX)
               if direct else None)
    _check_text(post_info, "title", PHOTO_TITLE_MAX)
    _check_text(post_info, "description", PHOTO_DESCRIPTION_MAX)
    images = _photo_images(_object(body, "source_info"))
    _check_verified(state, request, images)
    _check_daily_cap(state, request, caller)
    all_facts = await media_fetcher(request).fetch_all(images, follow_redirects=False)
    content = state.tiktok_content
    kind: Literal["photo", "photo_inbox"] = "photo" if direct else "photo_inbox"
    task = content.start(caller.subject, kind=kind, source="PULL_FROM_URL", now=state.now(),
                         private=privacy in (None, "SELF_ONLY"), post_info=post_info, media_urls=tuple(images))
    content.finish(task, done_at=state.now() + state.settings.tiktok_processing_seconds,
                   fail_reason=pulled_photos_problem(all_facts), downloaded_bytes=sum(f.size or 0 for f in all_facts))
    return tiktok_envelope({"publish_id": task.publish_id})


def _photo_images(source_info: dict[str, Any]) -> list[str]:
    if source_info.get("source") != "PULL_FROM_URL":
        raise _invalid("Photos can only be posted with source PULL_FROM_URL.")
    images = source_info.get("photo_images")
    if (not isinstance(images, list) or not 1 <= len(images) <= PHOTO_MAX_IMAGES
            or not all(isinstance(u, str) and u for u in images)):
        raise _invalid(f"source_info.photo_images must list 1 to {PHOTO_MAX_IMAGES} image URLs.")
    cover = source_info.get("photo_cover_index", 0)
    if not isinstance(cover, int) or isinstance(cover, bool) or not 0 <= cover < len(images):
        raise _invalid("source_info.photo_cover_index must index one of photo_images.")
    return images


@api_router.post("/status/fetch/")
async def status_fetch(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    caller = tiktok_caller(state, request)
    if "video.publish" not in caller.scopes and "video.upload" not in caller.scopes:
        raise scope_not_authorized()
    enforce_rate_limit(state, request, caller, "status_fetch", STATUS_PER_MINUTE)
    publish_id = (await _json_body(request)).get("publish_id")
    if not isinstance(publish_id, str) or not publish_id:
        raise _invalid("publish_id is required.")
    task = state.tiktok_content.tasks.get(publish_id)
    if task is None:
        raise TikTokApiError("invalid_publish_id", "The publish_id does not exist.", status_code=400)
    if task.open_id != caller.subject:
        raise TikTokApiError("token_not_authorized_for_specified_publish_id",
                             "The access token is not authorized to read this publish_id.", status_code=400)
    return tiktok_envelope(state.tiktok_content.status(task, state.now()))


@upload_router.put("/video/")
async def upload_chunk(request: Request, upload_id: str = "", upload_token: str = "") -> Response:
    state = sandbox_state(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() not in VIDEO_TYPES:
        raise TikTokApiError("invalid_file_upload", "Content-Type must be video/mp4, video/quicktime or video/webm.",
                             status_code=400)
    match = _CONTENT_RANGE.match(request.headers.get("content-range", "").strip())
    if match is None:
        raise TikTokApiError("invalid_file_upload", "Content-Range must read bytes {first}-{last}/{total}.",
                             status_code=400)
    first, last, total = (int(g) for g in match.groups())
    content = state.tiktok_content
    task = content.task_for_upload(upload_id)
    max_duration = state.tiktok.creators[task.open_id].max_video_post_duration_sec if task else 0
    try:
        task, status_code = content.receive_chunk(
            upload_id, upload_token, first=first, last=last, total=total, body=await request.body(),
            now=state.now(), processing_seconds=state.settings.tiktok_processing_seconds, max_duration=max_duration)
    except ChunkRefused as exc:
        raise TikTokApiError(exc.code, exc.message, status_code=exc.status_code) from None
    return Response(status_code=status_code, headers={"Content-Range": _received_range(task)})


def _received_range(task: PublishTask) -> str:
    upload = task.upload
    assert upload is not None
    return f"bytes 0-{upload.received - 1}/{upload.video_size}"
