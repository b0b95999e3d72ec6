"""Fixes on request through the gateway: each a new item of the library beside the untouched original, refused
(422) when the item needs no such fix or is not of its kind; a video is never re-encoded."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.media_support import UPLOAD_CHUNK_HEADERS
from tests.media_samples import image, mp4
from tests.support import Stack, sign_in, sign_up

MEDIA = "/api/v1/media"


async def test_fixes_make_new_items_and_leave_the_original(client: httpx.AsyncClient, stack: Stack,
                                                           tmp_path: Path) -> None:
    user = await sign_up(client, stack)
    assert (await sign_in(client, user)).status_code == 200
    png = image(tmp_path / "menu.png", width=2880, height=1800, fmt="png").read_bytes()
    original = (await client.post(MEDIA, files={"file": ("menu.png", png, "image/png")})).json()

    jpeg = await client.post(f"{MEDIA}/{original['id']}/fixes", json={"fix": "jpeg"})
    assert jpeg.status_code == 201, jpeg.text
    converted = jpeg.json()
    assert (converted["name"], converted["probe"]["format"]) == ("menu.jpg", "jpeg")
    assert (converted["probe"]["width"], converted["probe"]["height"]) == (2880, 1800)
    again = await client.post(f"{MEDIA}/{converted['id']}/fixes", json={"fix": "jpeg"})
    assert (again.status_code, again.json()["error"]["code"]) == (422, "nothing_to_fix")

    smaller = await client.post(f"{MEDIA}/{converted['id']}/fixes", json={"fix": "downscale", "max_side": 1440})
    assert smaller.status_code == 201, smaller.text
    assert (smaller.json()["name"], smaller.json()["probe"]["width"]) == ("menu 1440x900.jpg", 1440)
    fits = await client.post(f"{MEDIA}/{smaller.json()['id']}/fixes", json={"fix": "downscale", "max_side": 1440})
    assert (fits.status_code, fits.json()["error"]["code"]) == (422, "nothing_to_fix")

    clip = mp4(320, 240, 2.0)
    started = await client.post(f"{MEDIA}/uploads", json={"name": "oven.mp4", "type": "video/mp4",
                                                          "size": len(clip)})
    video = (await client.patch(started.headers["location"], content=clip,
                                headers={**UPLOAD_CHUNK_HEADERS, "upload-offset": "0"})).json()
    poster = await client.post(f"{MEDIA}/{video['id']}/fixes", json={"fix": "poster"})
    assert poster.status_code == 201, poster.text
    assert (poster.json()["name"], poster.json()["kind"], poster.json()["probe"]["width"]) == \
        ("oven poster.jpg", "image", 320)
    refused = await client.post(f"{MEDIA}/{video['id']}/fixes", json={"fix": "downscale", "max_side": 100})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "fix_not_applicable")
    assert (await client.post(f"{MEDIA}/{original['id']}/fixes", json={"fix": "blur"})).status_code == 422

    library = {i["id"]: i for i in (await client.get(MEDIA)).json()["items"]}
    assert len(library) == 5
    assert library[original["id"]]["sha256"] == original["sha256"]
    assert library[video["id"]]["sha256"] == video["sha256"]
