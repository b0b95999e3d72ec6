"""Library media published through the whole stack: files made here (Pillow, PyAV) are uploaded through the gateway,
chosen in posts by id, checked against each platform's rules at creation and by /posts/check, and published through
the sandbox, which fetches the signed URL (or, for a TikTok video, is sent the bytes by FILE_UPLOAD) and examines
the bytes it got. Once the post is final the URL it fetched no longer works."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.publishing_support import Member, publishes, settled
from tests.media_samples import jpeg, mp4, png
from tests.support import Stack, internal, sign_in, sign_up, wait_for

MEDIA = "/api/v1/media"


async def upload(member: Member, name: str, data: bytes) -> dict[str, Any]:
    """An image by multipart, a video by the resumable upload (in one chunk); the library item as answered."""
    if name.endswith((".jpg", ".png")):
        answer = await member.http.post(MEDIA, files={"file": (name, data, "image/jpeg")})
    else:
        created = await member.http.post(f"{MEDIA}/uploads", json={"name": name, "type": "video/mp4",
                                                                   "size": len(data)})
        assert created.status_code == 201, created.text
        answer = await member.http.patch(created.headers["location"], content=data, headers={
            "content-type": "application/offset+octet-stream", "upload-offset": "0"})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def post(member: Member, media: list[dict[str, Any]], targets: list[dict[str, Any]],
               caption: str = "From the library") -> httpx.Response:
    return await member.http.post("/api/v1/posts", json={"caption": caption, "media": media, "targets": targets})


async def published(member: Member, media: list[dict[str, Any]], targets: list[dict[str, Any]],
                    caption: str) -> dict[str, Any]:
    created = await post(member, media, targets, caption)
    assert created.status_code == 201, created.text
    done = await settled(member, created.json()["id"], timeout=60)
    assert [t["status"] for t in done["targets"]] == ["published"] * len(targets), done["targets"]
    return done


def entry(live: list[dict[str, Any]], caption: str) -> dict[str, Any]:
    [found] = [p for p in live if (p.get("text") or p.get("caption") or p.get("title")) == caption]
    return found


async def stops_working(url: str) -> None:
    """The signed URL the platform fetched answers 410 once the media service heard the post is final."""
    async with httpx.AsyncClient() as platform:
        async def refused() -> bool:
            return (await platform.get(url)).status_code == 410
        await wait_for(refused, timeout=20, message=f"{url} to stop working")


@pytest.fixture(scope="module")
def good_jpeg() -> bytes:
    return jpeg(1080, 1350)


@pytest.fixture(scope="module")
def vertical_mp4() -> bytes:
    return mp4(360, 640, 4, fps=30, audio=True)


@pytest.fixture(scope="module")
def square_mp4() -> bytes:
    return mp4(480, 480, 4, fps=30, audio=True)


async def test_a_library_jpeg_reaches_facebook_and_instagram_as_uploaded(poster: Member, stack: Stack,
                                                                         good_jpeg: bytes) -> None:
    item = await upload(poster, "loaf.jpg", good_jpeg)
    sha = hashlib.sha256(good_jpeg).hexdigest()
    assert item["sha256"] == sha
    chosen = [{"media_id": item["id"], "alt_text": "A loaf"}]
    done = await published(poster, chosen, [{"account_id": poster.accounts["page"]},
                                            {"account_id": poster.accounts["ig_login"]}], "Fresh bread")
    [medium] = done["media"]
    assert medium == {"media_id": item["id"], "type": "image", "name": "loaf.jpg", "alt_text": "A loaf", "url": None,
                      "thumbnail_url": f"/api/v1/media/{item['id']}/thumbnail", "duration_sec": None,
                      "probe": item["probe"]}

    for platform in ("facebook", "instagram"):
        live = entry(await publishes(stack, platform=platform), "Fresh bread")
        [url] = live["media_urls"]
        assert url.startswith(f"{stack.gateway}/media/files/")
        [fetched] = live["fetched"]
        assert (fetched["sha256"], fetched["size"], fetched["format"]) == (sha, len(good_jpeg), "jpeg")
        assert (fetched["width"], fetched["height"]) == (1080, 1350)
        await stops_working(url)

    # The same item in a later post: a newer URL, which works.
    await published(poster, chosen, [{"account_id": poster.accounts["page"]}], "Bread again")
    again = entry(await publishes(stack, platform="facebook"), "Bread again")
    assert again["fetched"][0]["sha256"] == sha
    assert again["media_urls"] != entry(await publishes(stack, platform="facebook"), "Fresh bread")["media_urls"]


async def test_a_library_video_goes_to_tiktok_by_file_upload_and_to_instagram_as_a_reel(
        poster: Member, stack: Stack, vertical_mp4: bytes) -> None:
    item = await upload(poster, "clip.mp4", vertical_mp4)
    sha = hashlib.sha256(vertical_mp4).hexdigest()
    await published(poster, [{"media_id": item["id"]}], [
        {"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "SELF_ONLY"}},
        {"account_id": poster.accounts["ig_page"]}], "A short clip")

    tiktok = entry(await publishes(stack, platform="tiktok"), "A short clip")
    assert (tiktok["source"], tiktok["media_urls"]) == ("FILE_UPLOAD", [])
    sent = tiktok["uploaded"]
    assert (sent["sha256"], sent["size"], sent["format"], sent["video_codec"]) == (sha, len(vertical_mp4), "mp4",
                                                                                    "h264")
    assert (sent["width"], sent["height"]) == (360, 640)

    reel = entry(await publishes(stack, platform="instagram"), "A short clip")
    assert reel["kind"] == "reel"
    [fetched] = reel["fetched"]
    assert (fetched["sha256"], fetched["format"], fetched["video_codec"]) == (sha, "mp4", "h264")
    assert fetched["duration"] == pytest.approx(4, abs=0.2)
    await stops_working(reel["media_urls"][0])


async def test_a_square_video_is_refused_as_an_instagram_story_and_a_vertical_one_published(
        poster: Member, stack: Stack, square_mp4: bytes, vertical_mp4: bytes) -> None:
    story = [{"account_id": poster.accounts["ig_login"], "settings": {"media_type": "STORIES"}}]
    square = await upload(poster, "square.mp4", square_mp4)
    body = {"caption": "", "media": [{"media_id": square["id"]}], "targets": story}

    checked = await poster.http.post("/api/v1/posts/check", json=body)
    created = await poster.http.post("/api/v1/posts", json=body)
    for refused in (checked, created):
        assert refused.status_code == 422, refused.text
        details = refused.json()["error"]["details"]
        assert [d["rule"] for d in details] == ["instagram_story_aspect_ratio"], details
        assert "crop it to 9:16" in details[0]["message"]
    assert checked.json() == created.json()

    vertical = await upload(poster, "vertical.mp4", vertical_mp4)
    fixed = {**body, "media": [{"media_id": vertical["id"]}]}
    assert (await poster.http.post("/api/v1/posts/check", json=fixed)).json() == {"problems": []}
    assert (await poster.http.get("/api/v1/posts")).json()["items"] == []  # the checks stored nothing
    await published(poster, fixed["media"], story, "")
    [live] = [p for p in await publishes(stack, platform="instagram") if p["kind"] == "story"]
    assert live["fetched"][0]["sha256"] == hashlib.sha256(vertical_mp4).hexdigest()


async def test_a_png_from_the_library_is_refused_for_instagram_before_anything_is_sent(
        poster: Member, stack: Stack) -> None:
    item = await upload(poster, "logo.png", png(1080, 1080))
    refused = await post(poster, [{"media_id": item["id"]}], [{"account_id": poster.accounts["ig_page"]}])
    assert refused.status_code == 422, refused.text
    assert [d["rule"] for d in refused.json()["error"]["details"]] == ["instagram_jpeg_only"]
    # Facebook takes PNG photos: the same item is published there.
    await published(poster, [{"media_id": item["id"]}], [{"account_id": poster.accounts["page"]}], "A logo")
    assert entry(await publishes(stack, platform="facebook"), "A logo")["fetched"][0]["format"] == "png"


async def test_another_persons_media_or_an_unknown_id_is_media_not_found(
        poster: Member, stack: Stack, new_client, good_jpeg: bytes) -> None:
    page = [{"account_id": poster.accounts["page"]}]
    async with new_client() as other:
        await sign_in(other, await sign_up(other, stack))
        theirs = (await other.post(MEDIA, files={"file": ("theirs.jpg", good_jpeg, "image/jpeg")})).json()
    mine = await upload(poster, "mine.jpg", good_jpeg)
    draft = await poster.http.post("/api/v1/posts", json={"caption": "Draft", "media": [{"media_id": mine["id"]}],
                                                          "targets": page, "draft": True})
    assert draft.status_code == 201, draft.text
    for media_id in (theirs["id"], "00000000-0000-4000-8000-000000000000"):
        body = {"caption": "Not mine", "media": [{"media_id": media_id}], "targets": page}
        for answer in (await poster.http.post("/api/v1/posts", json=body),
                       await poster.http.post("/api/v1/posts/check", json=body),
                       await poster.http.patch(f"/api/v1/posts/{draft.json()['id']}",
                                               json={"media": body["media"]})):
            assert answer.status_code == 422, answer.text
            assert [d["rule"] for d in answer.json()["error"]["details"]] == ["media_not_found"]
    assert [p["id"] for p in (await poster.http.get("/api/v1/posts")).json()["items"]] == [draft.json()["id"]]


async def test_library_photos_go_to_tiktok_by_url(poster: Member, stack: Stack, good_jpeg: bytes) -> None:
    first, second = await upload(poster, "one.jpg", good_jpeg), await upload(poster, "two.jpg", jpeg(1080, 1080))
    await published(poster, [{"media_id": first["id"]}, {"media_id": second["id"]}], [
        {"account_id": poster.accounts["tiktok"], "settings": {"privacy_level": "SELF_ONLY"}}], "Two loaves")
    live = entry(await publishes(stack, platform="tiktok"), "Two loaves")
    assert (live["kind"], live["source"]) == ("tiktok_photo", "PULL_FROM_URL")
    assert [f["sha256"] for f in live["fetched"]] == [first["sha256"], second["sha256"]]
    for url in live["media_urls"]:
        await stops_working(url)


async def test_the_media_service_learns_which_files_a_post_not_yet_final_still_needs(
        poster: Member, stack: Stack, good_jpeg: bytes) -> None:
    """What the media service's retention asks before deleting a file nobody used for 30 days."""
    scheduled, spare = await upload(poster, "months ahead.jpg", good_jpeg), await upload(poster, "spare.jpg",
                                                                                           good_jpeg)
    created = await poster.http.post("/api/v1/posts", json={
        "caption": "Next season", "media": [{"media_id": scheduled["id"]}],
        "targets": [{"account_id": poster.accounts["page"]}], "scheduled_at": "2030-03-01T09:00:00Z"})
    assert created.status_code == 201, created.text
    ask = {"media_ids": [scheduled["id"], spare["id"]]}

    answer = await internal(stack, "publisher", "/internal/media/in-use", ask, caller="media")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"in_use": [scheduled["id"]]}
    assert (await internal(stack, "publisher", "/internal/media/in-use", ask, caller="gateway")).status_code == 403

    cancelled = await poster.http.post(f"/api/v1/posts/{created.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    answer = await internal(stack, "publisher", "/internal/media/in-use", ask, caller="media")
    assert answer.json() == {"in_use": []}


async def test_a_file_another_unfinished_post_uses_keeps_its_urls_until_that_post_is_done(
        poster: Member, stack: Stack, good_jpeg: bytes, db: asyncpg.Connection) -> None:
    """A platform may fetch a URL well after it was given one (TikTok pulls, Meta's containers): one post
    finishing must not break another still sending the same file."""

    async def completions_seen() -> int:
        return int(await db.fetchval("SELECT count(*) FROM media.inbox WHERE type = 'post.completed'"))
    item = await upload(poster, "shared.jpg", good_jpeg)
    chosen = [{"media_id": item["id"]}]
    later = await poster.http.post("/api/v1/posts", json={
        "caption": "Later on", "media": chosen, "targets": [{"account_id": poster.accounts["page"]}],
        "scheduled_at": "2030-03-01T09:00:00Z"})
    assert later.status_code == 201, later.text
    seen = await completions_seen()
    await published(poster, chosen, [{"account_id": poster.accounts["page"]}], "Right now")
    [url] = entry(await publishes(stack, platform="facebook"), "Right now")["media_urls"]

    async def heard() -> bool:
        return await completions_seen() > seen
    await wait_for(heard, message="the media service to hear that the first post is done")

    async with httpx.AsyncClient() as platform:
        assert (await platform.get(url)).status_code == 200
        assert (await poster.http.post(f"/api/v1/posts/{later.json()['id']}/cancel")).status_code == 200
        await stops_working(url)  # the last post using it is done
