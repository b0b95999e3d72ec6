"""Thumbnails through the gateway, over real HTTP: made at upload for an image and for a video (its poster frame),
stored beside the file, served to their owner only with a private cache lifetime, and deleted with the item."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from PIL import Image

from tests.media_samples import image, video
from tests.support import Stack, sign_in, sign_up

MEDIA = "/api/v1/media"


def stored(stack: Stack, key: str) -> Path:
    return Path(unquote(urlsplit(stack.env["POSTIFYS_MEDIA_STORAGE_URL"]).path)) / key


async def signed_in(client: httpx.AsyncClient, stack: Stack) -> dict[str, str]:
    user = await sign_up(client, stack)
    assert (await sign_in(client, user)).status_code == 200
    return user


def jpeg_size(data: bytes) -> tuple[int, int]:
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "JPEG"
    return picture.size


async def test_an_uploaded_image_has_a_small_jpeg_beside_it_for_its_owner_only(
        client: httpx.AsyncClient, new_client, stack: Stack, tmp_path: Path) -> None:
    user = await signed_in(client, stack)
    path = image(tmp_path / "shop.png", width=1600, height=1200, fmt="png")
    item = (await client.post(MEDIA, files={"file": ("shop.png", path.read_bytes(), "image/png")})).json()

    answer = await client.get(f"{MEDIA}/{item['id']}/thumbnail")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "private, max-age=86400"
    assert jpeg_size(answer.content) == (320, 240)
    key = f"users/{user['id']}/{item['id']}.thumb.jpg"
    assert stored(stack, key).read_bytes() == answer.content
    async with new_client() as stranger:
        assert (await stranger.get(f"{MEDIA}/{item['id']}/thumbnail")).status_code == 401
        await signed_in(stranger, stack)
        assert (await stranger.get(f"{MEDIA}/{item['id']}/thumbnail")).status_code == 404

    assert (await client.delete(f"{MEDIA}/{item['id']}")).status_code == 204
    assert not stored(stack, key).exists()
    assert (await client.get(f"{MEDIA}/{item['id']}/thumbnail")).status_code == 404


async def test_a_video_uploaded_in_chunks_has_its_poster_frame(client: httpx.AsyncClient, stack: Stack,
                                                               tmp_path: Path) -> None:
    await signed_in(client, stack)
    data = video(tmp_path / "tall.mp4", seconds=2, width=360, height=640, fps=25).read_bytes()
    created = await client.post(f"{MEDIA}/uploads", json={"name": "tall.mp4", "type": "video/mp4",
                                                          "size": len(data)})
    location = created.headers["location"]
    done = await client.patch(location, content=data, headers={
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0", "Tus-Resumable": "1.0.0"})
    assert done.status_code == 201, done.text

    answer = await client.get(f"{MEDIA}/{done.json()['id']}/thumbnail")

    assert answer.status_code == 200, answer.text
    assert jpeg_size(answer.content) == (180, 320)
