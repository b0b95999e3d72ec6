"""The composer's media library: a page of the person's earlier uploads to choose from (with the files already
chosen, wherever they are in the library), and uploads sent from the plain form (no JavaScript) on to the media
service as the browser's own upload would go: images whole, videos through the resumable upload in one piece."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from fastapi import Request
from starlette.datastructures import UploadFile

from services.gateway.web import compose_form as cf
from services.gateway.web.context import Person, Upstream, error_of

log = structlog.get_logger()

PAGE_SIZE = 12
UPLOAD_PAGE = "/compose/upload"  # the plain form's uploads: the gateway lets their bodies past its small limit
MOST_UPLOADS = 10  # files in one plain-form upload
UPLOAD_TIMEOUT = httpx.Timeout(300, connect=3)
UPLOAD_CHUNK = 1024 * 1024
UNAVAILABLE = "Your media library could not be loaded just now. Try again in a moment."


@dataclass(frozen=True)
class LibraryItem:
    """One file of the library as the picker shows it."""

    id: str
    name: str
    kind: str
    width: int | None
    height: int | None
    duration_sec: float | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> LibraryItem:
        probe = item.get("probe") or {}
        duration = probe.get("duration_sec")
        return cls(id=str(item["id"]), name=str(item.get("name") or "Untitled"), kind=str(item.get("kind") or "image"),
                   width=probe.get("width"), height=probe.get("height"),
                   duration_sec=float(duration) if duration is not None else None)

    @property
    def thumbnail_url(self) -> str:
        return cf.library_thumbnail(self.id)

    @property
    def duration(self) -> str:
        return "" if self.duration_sec is None else f"{self.duration_sec:g}"

    @property
    def detail(self) -> str:
        """"Video · 0:12 · 1080 × 1920": what tells two files apart, and what the platforms' limits are about."""
        parts = ["Video" if self.kind == "video" else "Image"]
        if self.duration_sec is not None:
            parts.append(length(self.duration_sec))
        if self.width and self.height:
            parts.append(f"{self.width} × {self.height}")
        return " · ".join(parts)


def length(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@dataclass(frozen=True)
class LibraryPage:
    items: list[LibraryItem]
    next_cursor: str | None
    problem: str | None = None


async def library_page(upstream: Upstream, request: Request, person: Person, form: cf.ComposeForm) -> LibraryPage:
    """The page of the library the form is at, the chosen files first (fetched one by one when not on it)."""
    try:
        answer = await upstream.call(request, person, "GET", "media", "/api/v1/media",
                                     params={"limit": PAGE_SIZE, "cursor": form.library_cursor or None})
        if answer.status_code == 400 and form.library_cursor:  # a cursor this library no longer knows
            answer = await upstream.call(request, person, "GET", "media", "/api/v1/media", params={"limit": PAGE_SIZE})
    except httpx.HTTPError as exc:
        log.warning("Media library unreachable for the composer", error=type(exc).__name__)
        return LibraryPage([], None, UNAVAILABLE)
    if answer.status_code != 200:
        return LibraryPage([], None, UNAVAILABLE)
    body = answer.json()
    listed = [LibraryItem.from_api(i) for i in body.get("items") or []]
    on_page = {i.id for i in listed}
    missing = [c.media_id for c in form.library if c.media_id not in on_page]
    found = await asyncio.gather(*(one_item(upstream, request, person, media_id) for media_id in missing))
    by_id = {i.id: i for i in [*listed, *(f for f in found if f is not None)]}
    chosen = [by_id[c.media_id] for c in form.library if c.media_id in by_id]
    form.library = [c for c in form.library if c.media_id in by_id]  # a file deleted meanwhile is no longer chosen
    rest = [i for i in listed if form.chose(i.id) is None]
    return LibraryPage(chosen + rest, body.get("next_cursor"))


async def one_item(upstream: Upstream, request: Request, person: Person, media_id: str) -> LibraryItem | None:
    try:
        answer = await upstream.call(request, person, "GET", "media", f"/api/v1/media/{media_id}")
    except httpx.HTTPError:
        return None
    return LibraryItem.from_api(answer.json()) if answer.status_code == 200 else None


async def _chunks(upload: UploadFile) -> Any:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


async def send_upload(upstream: Upstream, auth: httpx.Auth, request: Request, person: Person,
                      upload: UploadFile) -> LibraryItem | str:
    """The new library item, or the media service's refusal in a sentence."""
    name = (upload.filename or "upload").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255] or "upload"
    declared = (upload.content_type or "").lower()
    kind = "video" if declared.startswith("video/") or cf.guess_type(f"https://x/{name}") == "video" else "image"
    try:
        if kind == "image":
            answer = await upstream.call(
                request, person, "POST", "media", "/api/v1/media", auth=auth, timeout=UPLOAD_TIMEOUT,
                files={"file": (name, upload.file, declared or "application/octet-stream")})
            if answer.status_code == 201:
                return LibraryItem.from_api(answer.json())
            if error_of(answer)["code"] != "video_needs_resumable_upload":
                return str(error_of(answer)["message"])
            await upload.seek(0)
        return await _send_video(upstream, auth, request, person, upload, name, declared)
    except httpx.HTTPError as exc:
        log.warning("Media service unreachable for an upload", error=type(exc).__name__)
        return "The upload could not be finished just now. Try again in a moment."


async def _send_video(upstream: Upstream, auth: httpx.Auth, request: Request, person: Person, upload: UploadFile,
                      name: str, declared: str) -> LibraryItem | str:
    size = upload.size or 0
    created = await upstream.call(request, person, "POST", "media", "/api/v1/media/uploads", json={
        "name": name, "type": declared if declared.startswith("video/") else "video/mp4", "size": size})
    if created.status_code != 201:
        return str(error_of(created)["message"])
    location = str(created.json()["location"])
    answer = await upstream.call(
        request, person, "PATCH", "media", location, auth=auth, timeout=UPLOAD_TIMEOUT, content=_chunks(upload),
        headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
                 "Tus-Resumable": "1.0.0", "Content-Length": str(size)})
    if answer.status_code == 201:
        return LibraryItem.from_api(answer.json())
    return str(error_of(answer)["message"])
