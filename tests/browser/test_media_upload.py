"""Media in the composer, in a real browser: files uploaded with a progress bar each (an image whole, a video in
chunks that resumes after its connection drops), an earlier upload picked from the library, the publisher's refusal
of a square video as an Instagram story shown before submitting, the 9:16 one published, and its thumbnail on the
post's page; the same upload from the plain form without JavaScript; axe-core on the composer with the library open.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.compose_steps import open_composer, panel, posts_of
from tests.browser.conftest import BrowserMember
from tests.media_samples import image, video
from tests.support import wait_for

INSTAGRAM_BOX = "Acme Bakery Instagram"
INSTAGRAM_PANEL = "Acme Bakery (Instagram)"
MEDIA = "/api/v1/media"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("browser-media")
    return {
        "photo": image(folder / "croissant.jpg", width=1080, height=1350),
        # Big enough for three chunks of the resumable upload, so the bar moves and a chunk can be lost.
        "square": video(folder / "square.mp4", seconds=4, width=480, height=480, fps=25, target_bytes=5_000_000),
        "tall": video(folder / "tall.mp4", seconds=4, width=360, height=640, fps=25),
    }


async def upload_through_the_api(member: BrowserMember, path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    created = await member.http.post(f"{MEDIA}/uploads", json={"name": path.name, "type": "video/mp4",
                                                                "size": len(data)})
    assert created.status_code == 201, created.text
    done = await member.http.patch(created.headers["location"], content=data, headers={
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0", "Tus-Resumable": "1.0.0"})
    assert done.status_code == 201, done.text
    return dict(done.json())


async def progress_done(page: Any, name: str) -> None:
    bar = page.get_by_role("progressbar", name=f"Upload of {name}")
    await expect(bar).to_be_visible()
    await expect(page.locator(".upload-item", has_text=name)).to_contain_text("Uploaded and chosen", timeout=60_000)
    assert await bar.evaluate("(bar) => bar.value === bar.max && bar.max > 0")


def library_choice(page: Any, name: str) -> Any:
    return page.get_by_role("checkbox", name=re.compile(re.escape(name)))


async def test_upload_pick_see_the_refusal_before_submitting_and_publish_the_fixed_video(
        signed_in: Any, files: dict[str, Path], axe: Any) -> None:
    page = signed_in
    member: BrowserMember = page.member
    earlier = await upload_through_the_api(member, files["tall"])
    page.guard.allow("ERR_CONNECTION_RESET")  # the chunk whose connection the test drops
    dropped: list[str] = []

    async def drop_the_first_chunk(route: Any) -> None:
        if route.request.method == "PATCH" and not dropped:
            dropped.append(route.request.url)
            await route.abort("connectionreset")
        else:
            await route.fallback()

    await open_composer(page)
    library = page.locator("details#library")
    await expect(library).to_have_attribute("open", "")
    await expect(library_choice(page, "tall.mp4")).not_to_be_checked()
    await expect(page.get_by_text("Video · 0:04 · 360 × 640")).to_be_visible()
    await expect(page.get_by_role("button", name="Upload", exact=True)).to_be_hidden()  # files go up once chosen

    await page.route("**/api/v1/media/uploads/*", drop_the_first_chunk)
    await page.get_by_label("Upload images or videos").set_input_files([str(files["photo"]), str(files["square"])])

    await progress_done(page, "croissant.jpg")
    await progress_done(page, "square.mp4")
    await expect(library_choice(page, "croissant.jpg")).to_be_checked()
    await expect(library_choice(page, "square.mp4")).to_be_checked()
    assert len(dropped) == 1  # and the video went on from where the server had it
    await axe(page)

    # A story takes one file: the square video alone, for Instagram's story.
    await library_choice(page, "croissant.jpg").uncheck()
    await page.get_by_role("checkbox", name=INSTAGRAM_BOX).check()
    await panel(page, INSTAGRAM_PANEL).get_by_label("Story").check()
    refusal = page.locator("#media-check")
    await expect(refusal).to_contain_text("Acme Bakery: This video is 1:1; Instagram story videos must be 9:16",
                                          timeout=20_000)
    await expect(refusal).to_contain_text("Error:")
    assert await posts_of(member) == []

    await library_choice(page, "square.mp4").uncheck()
    await library_choice(page, "tall.mp4").check()
    await page.get_by_label("Description (alt text) of tall.mp4").fill("Croissants cooling on a rack")
    await expect(refusal).to_be_hidden(timeout=20_000)
    await page.get_by_role("button", name="Publish now").click()

    await page.wait_for_url("**/posts/*?notice=publishing")
    (post,) = await posts_of(member)
    assert [(m["media_id"], m["alt_text"]) for m in post["media"]] == [(earlier["id"], "Croissants cooling on a rack")]
    account = page.get_by_role("article")
    await expect(account.locator("header").get_by_text("Published", exact=True)).to_be_visible(timeout=60_000)
    picture = page.get_by_role("img", name="Croissants cooling on a rack")
    await expect(picture).to_have_attribute("src", f"{MEDIA}/{earlier['id']}/thumbnail")
    assert await picture.evaluate("(img) => img.complete && img.naturalWidth > 0")

    await page.goto("/posts")
    await expect(page.get_by_role("img", name="Croissants cooling on a rack")).to_be_visible()


async def test_without_javascript_a_file_is_uploaded_from_the_form_and_comes_back_chosen(
        new_page: Callable[..., Awaitable[Any]], member: BrowserMember, files: dict[str, Path]) -> None:
    page = await new_page(java_script=False, cookies=member.cookies)
    await open_composer(page)
    await page.get_by_role("textbox", name="Caption", exact=True).fill("Kept while the file goes up")
    await page.get_by_label("Upload images or videos").set_input_files(str(files["photo"]))

    await page.get_by_role("button", name="Upload", exact=True).click()

    await expect(library_choice(page, "croissant.jpg")).to_be_checked()
    await expect(page.get_by_role("textbox", name="Caption", exact=True)).to_have_value("Kept while the file goes up")
    item = (await member.http.get(MEDIA)).json()["items"][0]
    await expect(page.locator(f"[data-library-item='{item['id']}'] img")).to_have_attribute(
        "src", f"{MEDIA}/{item['id']}/thumbnail")
    await page.get_by_label("Description (alt text) of croissant.jpg").fill("A croissant")
    await page.get_by_role("checkbox", name="Acme Bakery Facebook Page").check()
    await page.get_by_label("Save as draft").check()
    await page.get_by_role("button", name="Publish now").click()

    await page.wait_for_url("**/posts/*?notice=draft_saved")
    (post,) = await wait_for(lambda: posts_of(member), message="the draft")
    assert [(m["media_id"], m["alt_text"]) for m in post["media"]] == [(item["id"], "A croissant")]
