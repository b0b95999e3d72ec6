"""The media service's HTTP doors: a person's library and uploads (through the gateway, signed in), the signed
file URLs the platforms fetch from (public), and the publisher's internal look-up.

Resumable uploads follow tus 1.0's core: create with the total size, then PATCH chunks at `Upload-Offset`;
HEAD answers the offset to resume from after a dropped connection (whatever arrived before the drop is kept)."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from services.media import fixes, thumbnails
from services.media.service import MediaService, as_item
from services.media.tables import Item, Upload
from services.media.tokens import VERSION as TOKEN_VERSION
from shared.contracts.media import MediaItem
from shared.errors import ERROR_RESPONSES, BadRequest, NotFound, PostifysError, Unauthorized
from shared.http.callers import VerifiedDep, caller_from_headers
from shared.http.errors import refuse_other_methods
from shared.internal import callers, streamed_body
from shared.validation import StrictModel

UPLOAD_CHUNK_TYPE = "application/offset+octet-stream"
MULTIPART_OVERHEAD = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
NAME = Field(min_length=1, max_length=255)


class MediaItemOut(MediaItem):
    url: str = Field(description="A signed URL that serves the file without a session, until url_expires_at.")
    url_expires_at: datetime


class MediaList(BaseModel):
    items: list[MediaItemOut]
    next_cursor: str | None


class UploadIn(StrictModel):
    name: Annotated[str, NAME]
    type: str = Field(min_length=3, max_length=100, description="The file's MIME type: video/mp4, image/png…")
    size: int = Field(ge=1, le=2**53 - 1, description="The whole file's size in bytes.")


class FixIn(StrictModel):
    fix: fixes.Fix = Field(description="jpeg: an image as an upright sRGB JPEG (for Instagram); downscale: an image "
                                       "shrunk to fit max_side (and max_short_side); poster: a video's frame as a "
                                       "JPEG. A video is never re-encoded.")
    max_side: int = Field(1440, ge=16, le=16384, description="downscale: the longer side at most, in pixels "
                                                             "(Instagram: 1440; TikTok photos: 1920).")
    max_short_side: int | None = Field(None, ge=16, le=16384, description="downscale: the shorter side at most "
                                                                          "(TikTok photos: 1080).")


class UploadOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    size: int
    offset: int
    location: str


class RangeNotSatisfiable(PostifysError):
    status_code = 416
    code = "range_not_satisfiable"
    message = "The requested range is outside the file."


def upload_out(row: Upload) -> UploadOut:
    return UploadOut(id=row.id, name=row.name, kind=row.kind, size=row.size_bytes, offset=row.offset,
                     location=f"/api/v1/media/uploads/{row.id}")


def encode_cursor(item: MediaItem) -> str:
    return base64.urlsafe_b64encode(f"{item.created_at.isoformat()}|{item.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, _, media_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), uuid.UUID(media_id)
    except ValueError:
        raise BadRequest("The cursor is not one this API gave out.", code="invalid_cursor") from None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range asked for, as [start, stop); None for the whole file (no header, or several ranges)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    # Digits beyond any file's size stand for "past the end" (int() of thousands of digits is refused).
    first = first if len(first) <= 19 else str(size)
    last = last if len(last) <= 19 else str(size)
    if not first:
        start, stop = max(0, size - int(last)), size
    else:
        start, stop = int(first), min(size, int(last) + 1) if last else size
    if start >= size or start >= stop:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return start, stop


async def request_chunks(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a client that goes away ends it there, and what came before is kept."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        return


async def upload_chunks(upload: UploadFile, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    while chunk := await upload.read(size):
        yield chunk


def build_routers(service: MediaService) -> tuple[APIRouter, APIRouter, APIRouter]:
    api = APIRouter(prefix="/api/v1/media", responses=ERROR_RESPONSES, tags=["media"])
    files = APIRouter(prefix="/media/files", include_in_schema=False)
    internal = APIRouter(prefix="/internal/media", include_in_schema=False)

    def out(item: MediaItem) -> MediaItemOut:
        signed = service.signed_url(item.id)
        return MediaItemOut(**item.model_dump(), url=signed.url, url_expires_at=signed.expires_at)

    @api.post("", status_code=201, response_model=MediaItemOut,
              summary="Upload an image (multipart, field `file`)",
              description="Images only, up to the image size limit (413 beyond); videos take the resumable upload.")
    @streamed_body
    async def upload_image(request: Request, caller: VerifiedDep) -> MediaItemOut:
        try:
            form = await request.form(max_files=1, max_fields=4)
        except ClientDisconnect:
            raise BadRequest("The upload was interrupted.", code="upload_interrupted") from None
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise BadRequest("Send the image as the multipart field `file`.", code="file_missing")
        try:
            item = await service.store_image(caller.user_id, (file.filename or "image")[:255], upload_chunks(file))
        finally:
            await form.close()
        return out(item)

    @api.get("", response_model=MediaList, summary="The library, newest first")
    async def library(caller: VerifiedDep, limit: Annotated[int, Query(ge=1, le=100)] = 30,
                      cursor: Annotated[str | None, Query(max_length=200)] = None) -> MediaList:
        found = await service.library(caller.user_id, limit, decode_cursor(cursor) if cursor else None)
        return MediaList(items=[out(i) for i in found],
                         next_cursor=encode_cursor(found[-1]) if len(found) == limit else None)

    @api.post("/uploads", status_code=201, response_model=UploadOut, summary="Start a resumable upload")
    async def create_upload(body: UploadIn, caller: VerifiedDep) -> JSONResponse:
        row = await service.create_upload(caller.user_id, body.name, body.type, body.size)
        answer = upload_out(row)
        return JSONResponse(answer.model_dump(mode="json"), status_code=201,
                            headers={"Location": answer.location, "Upload-Offset": "0",
                                     "Upload-Length": str(row.size_bytes), "Tus-Resumable": "1.0.0"})

    def offset_headers(row: Upload) -> dict[str, str]:
        return {"Upload-Offset": str(row.offset), "Upload-Length": str(row.size_bytes), "Tus-Resumable": "1.0.0",
                "Cache-Control": "no-store"}

    refuse_other_methods(api, "/uploads", "POST")

    @api.head("/uploads/{upload_id}", summary="Where an upload stands (Upload-Offset)")
    async def upload_offset(upload_id: uuid.UUID, caller: VerifiedDep) -> Response:
        return Response(status_code=200, headers=offset_headers(await service.upload(caller.user_id, upload_id)))

    @api.get("/uploads/{upload_id}", response_model=UploadOut, summary="Where an upload stands")
    async def upload_state(upload_id: uuid.UUID, caller: VerifiedDep) -> JSONResponse:
        row = await service.upload(caller.user_id, upload_id)
        return JSONResponse(upload_out(row).model_dump(mode="json"), headers=offset_headers(row))

    @api.patch("/uploads/{upload_id}", summary="Append a chunk at Upload-Offset",
               description="204 with the new Upload-Offset; 201 with the media item when the chunk completes it; "
                           "409 offset_mismatch (with the upload's offset) when the chunk starts elsewhere.",
               responses={201: {"model": MediaItemOut}, 204: {"description": "Chunk stored"}})
    @streamed_body
    async def append(upload_id: uuid.UUID, request: Request, caller: VerifiedDep,
                     upload_offset: Annotated[int, Header(ge=0, le=2**53 - 1)],
                     content_type: Annotated[str, Header(max_length=200)] = "") -> Response:
        if content_type.split(";")[0].strip().lower() != UPLOAD_CHUNK_TYPE:
            raise BadRequest(f"Send chunks as {UPLOAD_CHUNK_TYPE}.", code="unsupported_content_type")
        declared = request.headers.get("content-length")
        length = int(declared) if declared and declared.isdigit() else None
        outcome = await service.append(caller.user_id, upload_id, upload_offset, length, request_chunks(request))
        if isinstance(outcome, MediaItem):
            return JSONResponse(out(outcome).model_dump(mode="json"), status_code=201,
                                headers={"Upload-Offset": str(outcome.size_bytes), "Tus-Resumable": "1.0.0",
                                         "Location": f"/api/v1/media/{outcome.id}"})
        return Response(status_code=204, headers=offset_headers(outcome))

    @api.delete("/uploads/{upload_id}", status_code=204, summary="Give up an upload")
    async def abort(upload_id: uuid.UUID, caller: VerifiedDep) -> Response:
        await service.abort_upload(caller.user_id, upload_id)
        return Response(status_code=204)

    @api.get("/{media_id}", response_model=MediaItemOut, summary="One media item")
    async def one(media_id: uuid.UUID, caller: VerifiedDep) -> MediaItemOut:
        return out(await service.item(caller.user_id, media_id))

    @api.get("/{media_id}/thumbnail", summary="A small JPEG of the item (a video's poster frame)",
             response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
    async def thumbnail(media_id: uuid.UUID, caller: VerifiedDep) -> Response:
        found = await thumbnails.of(service.runtime, service.storage, caller.user_id, media_id)
        return Response(found.body, media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400", "ETag": found.etag})

    @api.post("/{media_id}/fixes", status_code=201, response_model=MediaItemOut,
              summary="A fixed copy of an item, as a new item of the library",
              description="422 nothing_to_fix when the item needs no such fix, fix_not_applicable when it is not "
                          "of the kind the fix takes (a video is never re-encoded).")
    async def fix(media_id: uuid.UUID, body: FixIn, caller: VerifiedDep) -> MediaItemOut:
        return out(await service.fix(caller.user_id, media_id, body.fix, body.max_side, body.max_short_side))

    @api.delete("/{media_id}", status_code=204, summary="Delete a media item and its file")
    async def delete(media_id: uuid.UUID, caller: VerifiedDep) -> Response:
        await service.delete(caller.user_id, media_id)
        return Response(status_code=204)

    @files.api_route("/{token}", methods=["GET", "HEAD"])
    async def serve_file(token: Annotated[str, NAME], request: Request) -> Response:
        """The bytes, for the platforms: no session, byte ranges, refused once the URL is no longer good."""
        if not token.startswith(TOKEN_VERSION):
            raise NotFound("No media at this address.")
        return file_response(await service.granted(token), request)

    def file_response(row: Item, request: Request) -> Response:
        wanted = byte_range(request.headers.get("range"), row.size_bytes)
        start, stop = wanted or (0, row.size_bytes)
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(stop - start),
                   "ETag": f'"{row.sha256}"', "Cache-Control": "private, max-age=300",
                   "Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"}
        if wanted is not None:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{row.size_bytes}"
        status = 206 if wanted is not None else 200
        media_type = str(row.probe.get("mime_type") or "application/octet-stream")
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type=media_type)
        return StreamingResponse(service.storage.read(row.storage_key, start, stop), status_code=status,
                                 headers=headers, media_type=media_type)

    @internal.get("/{media_id}")
    @callers("publisher")
    async def for_publisher(media_id: uuid.UUID, request: Request) -> MediaItemOut:
        """A media item of the person the post belongs to (named in the signed user header), with a fresh URL."""
        caller = caller_from_headers(request)
        if caller is None:
            raise Unauthorized("Name the post's owner.")
        row = await service.stored(caller.user_id, media_id)
        if not await service.touch([row.id]):
            raise NotFound("No media with this id.", code="media_not_found")
        signed = service.signed_url(row.id, revoked_at=row.urls_revoked_at)
        return MediaItemOut(**as_item(row).model_dump(), url=signed.url, url_expires_at=signed.expires_at)

    @internal.get("/{media_id}/content")
    @callers("publisher")
    async def content_for_publisher(media_id: uuid.UUID, request: Request) -> Response:
        """The stored bytes (a Range of them), for an upload the publisher sends itself (TikTok's FILE_UPLOAD)."""
        caller = caller_from_headers(request)
        if caller is None:
            raise Unauthorized("Name the post's owner.")
        return file_response(await service.stored(caller.user_id, media_id), request)

    return api, files, internal
