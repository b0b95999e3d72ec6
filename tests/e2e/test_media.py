"""The media library through the gateway, over real HTTP, on both storage backends (a folder, and S3 on a moto
server this module starts): an image upload, a video uploaded in chunks whose connection drops half way and that
resumes from the server's offset to the same bytes, and the signed URL that serves it with byte ranges and refuses
once changed, expired or deleted."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.media import tokens
from services.media.settings import development_signing_key
from tests.e2e.media_support import stored_sha256
from tests.media_samples import image_bytes, not_media, video
from tests.support import Stack, sign_in, sign_up

MEDIA = "/api/v1/media"
UPLOADS = "/api/v1/media/uploads"
CHUNK = 256 * 1024


class Dropped(Exception):
    """The client's connection going away in the middle of a chunk."""


@pytest.fixture(scope="module")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Over two S3 parts (8 MiB each), so the drop and the resume cross part boundaries.
    return video(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=4, width=640, height=360, fps=25,
                 target_bytes=18_000_000)


async def signed_in(client: httpx.AsyncClient, stack: Stack) -> dict[str, str]:
    user = await sign_up(client, stack)
    assert (await sign_in(client, user)).status_code == 200
    return user


async def offset_of(client: httpx.AsyncClient, location: str) -> int:
    answer = await client.head(location)
    assert answer.status_code == 200, answer.text
    return int(answer.headers["upload-offset"])


async def test_an_image_is_uploaded_probed_and_listed(client: httpx.AsyncClient, stack: Stack,
                                                      backend: dict[str, str]) -> None:
    user = await signed_in(client, stack)
    picture = image_bytes(width=400, height=500, fmt="png")
    answer = await client.post(MEDIA, files={"file": ("shop.png", picture, "image/png")})
    assert answer.status_code == 201, answer.text
    item = answer.json()
    assert (item["kind"], item["name"], item["size_bytes"]) == ("image", "shop.png", len(picture))
    assert (item["probe"]["format"], item["probe"]["width"], item["probe"]["height"]) == ("png", 400, 500)
    assert item["sha256"] == hashlib.sha256(picture).hexdigest()
    assert await stored_sha256(backend, f"users/{user['id']}/{item['id']}") == item["sha256"]

    library = (await client.get(MEDIA)).json()
    assert [i["id"] for i in library["items"]] == [item["id"]]
    assert (await client.get(f"{MEDIA}/{item['id']}")).json()["sha256"] == item["sha256"]


async def test_a_file_that_is_no_image_or_video_is_refused(client: httpx.AsyncClient, stack: Stack,
                                                           backend: dict[str, str], tmp_path: Path) -> None:
    await signed_in(client, stack)
    answer = await client.post(MEDIA, files={"file": ("cv.jpg", not_media(tmp_path / "x").read_bytes(),
                                                       "image/jpeg")})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "unreadable_media"
    assert (await client.get(MEDIA)).json()["items"] == []


async def test_a_video_resumes_after_a_dropped_connection_to_the_same_bytes(
        client: httpx.AsyncClient, new_client, stack: Stack, backend: dict[str, str], sample_video: Path) -> None:
    user = await signed_in(client, stack)
    data = sample_video.read_bytes()
    original = hashlib.sha256(data).hexdigest()
    created = await client.post(UPLOADS, json={"name": "clip.mp4", "type": "video/mp4", "size": len(data)})
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert await offset_of(client, location) == 0

    half = len(data) // 2

    async def half_then_drop() -> AsyncIterator[bytes]:
        for at in range(0, half, CHUNK):
            yield data[at:min(at + CHUNK, half)]
        raise Dropped()

    chunk_headers = {"content-type": "application/offset+octet-stream", "upload-offset": "0",
                     "content-length": str(len(data))}
    with pytest.raises(Dropped):
        await client.patch(location, content=half_then_drop(), headers=chunk_headers)

    # HEAD waits for the interrupted chunk to be stored, and answers where it stopped.
    kept = await offset_of(client, location)
    assert 0 < kept <= half

    wrong = await client.patch(location, content=data[kept + 1:],
                               headers={**chunk_headers, "upload-offset": str(kept + 1),
                                        "content-length": str(len(data) - kept - 1)})
    assert wrong.status_code == 409, wrong.text
    assert wrong.json()["error"]["code"] == "offset_mismatch"
    assert wrong.headers["upload-offset"] == str(kept)

    async def rest() -> AsyncIterator[bytes]:
        for at in range(kept, len(data), CHUNK):
            yield data[at:at + CHUNK]

    done = await client.patch(location, content=rest(), headers={
        **chunk_headers, "upload-offset": str(kept), "content-length": str(len(data) - kept)})
    assert done.status_code == 201, done.text
    item = done.json()
    assert item["sha256"] == original
    assert (item["kind"], item["probe"]["format"], item["probe"]["video_codec"]) == ("video", "mp4", "h264")
    assert (item["probe"]["width"], item["probe"]["height"], item["probe"]["frame_rate"]) == (640, 360, 25.0)
    assert item["probe"]["duration_sec"] == pytest.approx(4, abs=0.1)
    assert await stored_sha256(backend, f"users/{user['id']}/{item['id']}") == original
    assert (await client.head(location)).status_code == 404

    # The signed URL: no session, byte ranges, and refused once changed, expired or deleted.
    async with new_client() as platform:
        whole = await platform.get(item["url"])
        assert whole.status_code == 200
        assert hashlib.sha256(whole.content).hexdigest() == original
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["content-type"] == "video/mp4"

        part = await platform.get(item["url"], headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206, part.text
        assert part.content == data[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        tail = await platform.get(item["url"], headers={"Range": "bytes=-100"})
        assert (tail.status_code, tail.content) == (206, data[-100:])
        beyond = await platform.get(item["url"], headers={"Range": f"bytes={len(data)}-"})
        assert beyond.status_code == 416

        token = item["url"].rsplit("/", 1)[1]
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert (await platform.get(item["url"].replace(token, tampered))).status_code == 404
        key = development_signing_key(stack.env["POSTIFYS_INTERNAL_SECRET"]).encode()
        expired = tokens.sign(key, uuid.UUID(item["id"]), int(time.time()) - 1)
        gone = await platform.get(item["url"].replace(token, expired))
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == "url_expired"
        longer = tokens.sign(key, uuid.UUID(item["id"]), int(time.time()) + 3600)
        assert (await platform.get(item["url"].replace(token, longer))).status_code == 200

        assert (await client.delete(f"{MEDIA}/{item['id']}")).status_code == 204
        assert (await platform.get(item["url"])).status_code == 404
    assert await stored_sha256(backend, f"users/{user['id']}/{item['id']}") is None


async def test_size_limits_and_the_quota_refuse_in_the_one_error_shape(
        client: httpx.AsyncClient, stack: Stack, backend: dict[str, str]) -> None:
    await signed_in(client, stack)
    gib = 1024 ** 3
    too_big = await client.post(UPLOADS, json={"name": "long.mp4", "type": "video/mp4", "size": gib + 1})
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "file_too_large"
    unsupported = await client.post(UPLOADS, json={"name": "a.pdf", "type": "application/pdf", "size": 10})
    assert unsupported.status_code == 422

    # Uploads in progress count at their announced size: five of 1 GiB fill the 5 GiB quota.
    started = [await client.post(UPLOADS, json={"name": f"{n}.mp4", "type": "video/mp4", "size": gib})
               for n in range(5)]
    assert [s.status_code for s in started] == [201] * 5
    refused = await client.post(UPLOADS, json={"name": "one-more.mp4", "type": "video/mp4", "size": 10})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quota_exceeded"
    for upload in started:
        assert (await client.delete(upload.headers["location"])).status_code == 204
    again = await client.post(UPLOADS, json={"name": "fits.mp4", "type": "video/mp4", "size": 10})
    assert again.status_code == 201

    image_limit = 20 * 1024 * 1024
    huge = await client.post(MEDIA, files={"file": ("big.png", b"\0" * (image_limit + 1), "image/png")})
    assert huge.status_code == 413


async def test_media_needs_a_session_and_is_private_to_its_owner(client: httpx.AsyncClient, new_client,
                                                                 stack: Stack, backend: dict[str, str]) -> None:
    await signed_in(client, stack)
    item = (await client.post(MEDIA, files={"file": ("a.jpg", image_bytes(), "image/jpeg")})).json()
    async with new_client() as stranger:
        assert (await stranger.get(MEDIA)).status_code == 401
        await signed_in(stranger, stack)
        assert (await stranger.get(f"{MEDIA}/{item['id']}")).status_code == 404
        assert (await stranger.delete(f"{MEDIA}/{item['id']}")).status_code == 404
    assert (await client.get(f"{MEDIA}/{item['id']}")).status_code == 200
