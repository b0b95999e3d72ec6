"""/_sandbox/media: the files the platforms fetch when a client hands them a media URL. Any name works; its
extension decides the type, and ?duration=&size=&width=&height= shape what the platforms detect. For the
downloads Postifys makes itself: ?drip_seconds= sends the file slowly, ?chunked=1 without a Content-Length."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from sandbox.media import MediaSpec, dripped, media_bytes, media_spec

router = APIRouter(prefix="/_sandbox")


@router.api_route("/media/{name}", methods=["GET", "HEAD"])
async def media(name: str, request: Request) -> Response:
    try:
        spec = media_spec(name, dict(request.query_params))
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    headers = {"Cache-Control": "no-store", **({} if spec.chunked else {"Content-Length": str(spec.size)})}
    if request.method == "HEAD":
        return Response(status_code=200, media_type=spec.content_type, headers=headers)
    return StreamingResponse(_chunks(spec), media_type=spec.content_type, headers=headers)


@router.api_route("/media-missing/{name}", methods=["GET", "HEAD"])
async def missing_media(name: str) -> Response:
    return JSONResponse({"detail": f"No media named {name} here: this path always answers 404."}, status_code=404)


async def _chunks(spec: MediaSpec) -> AsyncIterator[bytes]:
    if not spec.drip_seconds:
        for chunk in media_bytes(spec):
            yield chunk
        return
    for piece, pause in dripped(spec):
        yield piece
        await asyncio.sleep(pause)
