"""Small JPEG pictures of the library's files for the web app: an image scaled down, a video's poster frame. Made
at upload from the local copy the probe read, and stored beside the file (`<key>.thumb.jpg`), so a page showing
thirty of them never reads a whole video.

A thumbnail is a convenience: one that cannot be made is logged and the upload goes on; the page shows the file's
name instead."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import structlog
from PIL import Image, ImageOps

from services.media.fixes import Unfixable, poster_frame
from services.media.probe import MAX_IMAGE_PIXELS
from services.media.storage import ObjectMissing, Storage
from services.media.tables import Item
from shared.errors import NotFound
from shared.runtime import ServiceRuntime

log = structlog.get_logger()

LONGEST_SIDE = 320
QUALITY = 80
SUFFIX = ".thumb.jpg"


class Unthumbnailable(Exception):
    pass


def key_of(storage_key: str) -> str:
    return storage_key + SUFFIX


def make(path: Path, kind: str) -> bytes:
    """The JPEG bytes of a thumbnail of the file at `path`, at most LONGEST_SIDE on its longer side, upright."""
    picture = _image(path) if kind == "image" else _poster(path)
    try:
        picture.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        _opaque(picture).save(out, "JPEG", quality=QUALITY, optimize=True)
        return out.getvalue()
    finally:
        picture.close()


def _image(path: Path) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as source:
            source.draft("RGB", (LONGEST_SIDE * 2, LONGEST_SIDE * 2))  # JPEG decodes at a fraction of its size
            source.seek(0)  # the first frame of an animation
            upright = ImageOps.exif_transpose(source)
            upright.load()
            return upright
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Unthumbnailable(f"image ({type(exc).__name__})") from None


def _poster(path: Path) -> Image.Image:
    try:
        return poster_frame(path)
    except Unfixable as exc:
        raise Unthumbnailable(f"video ({exc})") from None


def _opaque(picture: Image.Image) -> Image.Image:
    """JPEG has no transparency: what was see-through shows white, as on the app's cards."""
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        backed = Image.new("RGB", rgba.size, (255, 255, 255))
        backed.paste(rgba, mask=rgba.getchannel("A"))
        return backed
    return picture if picture.mode == "RGB" else picture.convert("RGB")


async def store(storage: Storage, storage_key: str, path: Path, kind: str) -> bool:
    """Makes the thumbnail of a just-probed file and stores it beside it; False (logged) when it cannot be made."""
    try:
        made = await asyncio.to_thread(make, path, kind)
    except Unthumbnailable as exc:
        log.info("No thumbnail for this file", reason=str(exc), kind=kind)
        return False
    await storage.write(key_of(storage_key), _once(made))
    return True


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True)
class Thumbnail:
    body: bytes
    etag: str


async def of(runtime: ServiceRuntime, storage: Storage, user_id: uuid.UUID, media_id: uuid.UUID) -> Thumbnail:
    """A person's item's thumbnail. One missing (a file uploaded before thumbnails were made) is made now when the
    file is on this machine's disk."""
    async with runtime.sessionmaker() as session:
        row = (await session.execute(sa.select(Item.storage_key, Item.kind, Item.sha256)
                                     .where(Item.id == media_id, Item.user_id == user_id))).one_or_none()
    if row is None:
        raise NotFound("No media with this id.", code="media_not_found")
    key, kind, sha256 = row
    etag = f'"{sha256[:32]}-t{LONGEST_SIDE}"'
    try:
        return Thumbnail(b"".join([chunk async for chunk in storage.read(key_of(key))]), etag)
    except ObjectMissing:
        pass
    local = storage.local_path(key)
    if local is None or not await storage.size(key) or not await store(storage, key, local, kind):
        raise NotFound("This media has no thumbnail.", code="thumbnail_not_found")
    return Thumbnail(b"".join([chunk async for chunk in storage.read(key_of(key))]), etag)
