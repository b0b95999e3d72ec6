"""The media library's part of privacy, on both storage backends: deleting an account leaves no object of the
person in the storage (files, thumbnails, unfinished uploads, S3's multipart uploads) and the deletion request
completes with media's counts; the data export describes the library without its bytes; and retention, on an
injected clock, removes the files no post used for the configured days and the uploads left unfinished."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.media import tables
from services.media.retention import purge_media
from services.media.service import MediaService
from services.media.settings import MediaSettings
from services.media.storage import FileStorage
from tests.e2e.media_support import UPLOAD_CHUNK_HEADERS, objects_under
from tests.media_samples import image_bytes, mp4
from tests.support import STRONG_PASSWORD, Stack, runtime_for, sign_in, sign_up, wait_for

MEDIA = "/api/v1/media"
UPLOADS = "/api/v1/media/uploads"
# More than one S3 part (8 MiB), so an unfinished upload holds a multipart upload as well as its tail object.
UNFINISHED_BYTES = 9_000_000


async def signed_in(client: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    user = await sign_up(client, stack)
    assert (await sign_in(client, user)).status_code == 200
    return user


async def deletion_done(client: httpx.AsyncClient, code: str) -> dict[str, Any]:
    async def completed() -> dict[str, Any] | None:
        answer = (await client.get(f"/privacy/deletion/{code}", headers={"accept": "application/json"})).json()
        return answer if answer["status"] == "completed" else None
    return await wait_for(completed, timeout=60, interval=0.3, message="the deletion to complete")


async def a_library(client: httpx.AsyncClient) -> dict[str, Any]:
    """An image, a video uploaded in one chunk, and an upload left half way."""
    picture = await client.post(MEDIA, files={"file": ("shop front.png", image_bytes(width=300, height=200,
                                                                                      fmt="png"), "image/png")})
    assert picture.status_code == 201, picture.text
    clip = mp4(320, 240, 1.0)
    started = await client.post(UPLOADS, json={"name": "clip.mp4", "type": "video/mp4", "size": len(clip)})
    video = await client.patch(started.headers["location"], content=clip,
                               headers={**UPLOAD_CHUNK_HEADERS, "upload-offset": "0"})
    assert video.status_code == 201, video.text
    unfinished = await client.post(UPLOADS, json={"name": "long take.mp4", "type": "video/mp4",
                                                  "size": 2 * UNFINISHED_BYTES})
    half = await client.patch(unfinished.headers["location"], content=os.urandom(UNFINISHED_BYTES),
                              headers={**UPLOAD_CHUNK_HEADERS, "upload-offset": "0"})
    assert half.status_code == 204, half.text
    return {"image": picture.json(), "video": video.json(), "unfinished": unfinished.json()}


async def test_deleting_the_account_leaves_no_object_of_the_person_in_the_storage(
        client: httpx.AsyncClient, new_client, stack: Stack, backend: dict[str, str]) -> None:
    user = await signed_in(client, stack)
    await a_library(client)
    async with new_client() as other_client:
        other = await signed_in(other_client, stack)
        kept = (await other_client.post(MEDIA, files={"file": ("kept.jpg", image_bytes(), "image/jpeg")})).json()
    mine, theirs = f"users/{user['id']}/", f"users/{other['id']}/"
    assert len(await objects_under(backend, mine)) >= 3

    asked = await client.post("/api/v1/privacy/deletion-requests",
                              json={"scope": "account", "password": STRONG_PASSWORD})
    assert asked.status_code == 202, asked.text
    done = await deletion_done(client, asked.json()["confirmation_code"])

    [media] = [s for s in done["steps"] if s["service"] == "media"]
    assert media["status"] == "done"
    assert (media["erased"]["media_items"], media["erased"]["media_uploads"]) == (2, 1)
    assert media["erased"]["media_files"] >= 3
    assert await objects_under(backend, mine) == []
    assert [key for key in await objects_under(backend, theirs) if key.endswith(f"{theirs}{kept['id']}")]


async def test_the_export_describes_the_library_without_its_bytes(
        client: httpx.AsyncClient, new_client, stack: Stack, backend: dict[str, str]) -> None:
    await signed_in(client, stack)
    library = await a_library(client)
    async with new_client() as other_client:
        await signed_in(other_client, stack)
        await other_client.post(MEDIA, files={"file": ("not mine.jpg", image_bytes(), "image/jpeg")})

    answer = await client.get("/api/v1/privacy/export")
    assert answer.status_code == 200, answer.text
    export = answer.json()
    listed = {i["id"]: i for i in (await client.get(MEDIA)).json()["items"]}
    assert [m["id"] for m in export["media"]] == [library["image"]["id"], library["video"]["id"]]
    for exported in export["media"]:
        shown = listed[exported["id"]]
        for field in ("name", "kind", "size_bytes", "sha256", "probe", "created_at"):
            assert exported[field] == shown[field], field
        assert exported["last_used_at"] is None
    assert export["media"][0]["name"] == "shop front.png"
    assert export["media"][1]["probe"]["video_codec"] == "h264"
    unfinished = library["unfinished"]
    assert export["media_uploads"] == [{
        "id": unfinished["id"], "name": "long take.mp4", "kind": "video", "declared_type": "video/mp4",
        "size_bytes": 2 * UNFINISHED_BYTES, "received_bytes": UNFINISHED_BYTES,
        "created_at": export["media_uploads"][0]["created_at"], "updated_at": export["media_uploads"][0]["updated_at"]}]
    text = json.dumps(export["media"] + export["media_uploads"])
    assert "not mine" not in text
    assert "/media/files/" not in text  # no signed URL: they are the files' keys


# --- retention, on a database no process uses ------------------------------------------------------------------

START = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TICK = timedelta(seconds=1)


async def nothing_in_use(_: list[uuid.UUID]) -> set[uuid.UUID]:
    return set()


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> float:
        return self.at.timestamp()


async def test_files_no_post_used_for_the_configured_days_and_abandoned_uploads_are_purged_with_their_objects(
        scratch_database: str, tmp_path: Path) -> None:
    settings = MediaSettings(database_url=scratch_database, media_unused_days=30)
    storage, clock = FileStorage(tmp_path), Clock()
    user = uuid.uuid4()

    async def picture(name: str) -> uuid.UUID:
        async def body() -> AsyncIterator[bytes]:
            yield image_bytes(width=80, height=60, fmt="png")
        return (await service.store_image(user, name, body())).id

    async def unfinished(name: str) -> uuid.UUID:
        row = await service.create_upload(user, name, "video/mp4", 1000)

        async def chunk() -> AsyncIterator[bytes]:
            yield b"\0" * 100
        await service.append(user, row.id, 0, 100, chunk())
        return row.id

    async def kept() -> set[uuid.UUID]:
        async with runtime.sessionmaker() as session:
            return {*await session.scalars(sa.select(tables.Item.id).where(tables.Item.user_id == user)),
                    *await session.scalars(sa.select(tables.Upload.id).where(tables.Upload.user_id == user))}

    def files() -> set[str]:
        return {p.name.split(".")[0] for p in tmp_path.rglob("*") if p.is_file()}

    async def purge(now: datetime, rules: MediaSettings = settings) -> dict[str, int]:
        return await purge_media(runtime, storage, rules, now, nothing_in_use, batch_size=1)

    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = MediaService(runtime, settings, storage, clock=clock)
        never_used, used_later = await picture("never used.png"), await picture("used later.png")
        abandoned = await unfinished("abandoned.mp4")
        clock.at = START + 20 * DAY
        await service.touch([used_later])
        clock.at = START + 30 * DAY - DAY / 2
        going_on = await unfinished("going on.mp4")
        assert files() == {str(i) for i in (never_used, used_later, abandoned, going_on)}

        # An upload a day without progress goes; a file 30 days after its upload (none used it), not a tick before.
        assert await purge(START + 30 * DAY) == {
            "media_items": 0, "media_uploads": 1}
        assert await kept() == {never_used, used_later, going_on}
        assert await purge(START + 30 * DAY + TICK) == {
            "media_items": 1, "media_uploads": 0}
        assert await kept() == {used_later, going_on}
        assert files() == {str(used_later), str(going_on)}  # the file and its thumbnail went with the row

        assert await purge(START + 30 * DAY + DAY / 2 + TICK) == {
            "media_items": 0, "media_uploads": 1}
        # A file a post used is kept 30 days from that use.
        assert await purge(START + 50 * DAY) == {
            "media_items": 0, "media_uploads": 0}
        assert await purge(START + 50 * DAY + TICK) == {
            "media_items": 1, "media_uploads": 0}
        assert await kept() == set()
        assert files() == set()

        shorter = MediaSettings(database_url=scratch_database, media_unused_days=7)
        clock.at = START
        recent = await picture("recent.png")
        assert await purge(START + 7 * DAY, shorter) == {
            "media_items": 0, "media_uploads": 0}
        assert await purge(START + 7 * DAY + TICK, shorter) == {
            "media_items": 1, "media_uploads": 0}
        assert recent not in await kept()


async def test_a_file_a_post_not_yet_final_names_is_kept_and_nothing_goes_while_the_publisher_cannot_say(
        scratch_database: str, tmp_path: Path) -> None:
    settings = MediaSettings(database_url=scratch_database, media_unused_days=30)
    storage, clock = FileStorage(tmp_path), Clock()
    user = uuid.uuid4()
    needed: set[uuid.UUID] = set()
    asked: list[list[uuid.UUID]] = []

    async def posts_need(media_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        asked.append(media_ids)
        return needed & set(media_ids)

    async def publisher_down(_: list[uuid.UUID]) -> set[uuid.UUID]:
        raise httpx.ConnectError("the publisher is down")

    async def body() -> AsyncIterator[bytes]:
        yield image_bytes(width=80, height=60)

    async with runtime_for(settings, tables.Base.metadata) as runtime:
        service = MediaService(runtime, settings, storage, clock=clock)
        scheduled, forgotten = [(await service.store_image(user, f"{n}.jpg", body())).id for n in ("a", "b")]
        needed.add(scheduled)
        later = START + 31 * DAY
        with pytest.raises(httpx.ConnectError):
            await purge_media(runtime, storage, settings, later, publisher_down)
        async with runtime.sessionmaker() as session:
            assert set(await session.scalars(sa.select(tables.Item.id))) == {scheduled, forgotten}

        assert await purge_media(runtime, storage, settings, later, posts_need) == {
            "media_items": 1, "media_uploads": 0}
        assert sorted(asked[-1]) == sorted([scheduled, forgotten])
        async with runtime.sessionmaker() as session:
            kept = await session.get(tables.Item, scheduled)
            assert kept is not None
            assert kept.last_used_at == later  # asked again only 30 days on
        assert await purge_media(runtime, storage, settings, later + 29 * DAY, posts_need) == {
            "media_items": 0, "media_uploads": 0}
        needed.clear()  # the post went out
        assert await purge_media(runtime, storage, settings, later + 30 * DAY + TICK, posts_need) == {
            "media_items": 1, "media_uploads": 0}
