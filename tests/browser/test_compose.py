"""The composer in a real browser: a refused post keeps what was typed, a double click makes one post, the whole
form by keyboard alone, live counts and previews, media rows, and the page without JavaScript."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import expect

from tests.browser.compose_steps import (
    PAGE,
    TIKTOK,
    open_composer,
    panel,
    posts_of,
    sandbox_media,
    stub_post_page_when_missing,
    tab_to,
)
from tests.browser.conftest import BrowserMember
from tests.support import Stack, wait_for

TIKTOK_BOX = "Tia Creator TikTok"
PAGE_BOX = "Acme Bakery Facebook Page"


async def test_a_refused_post_comes_back_with_everything_typed(signed_in: Any, stack: Stack, axe: Any) -> None:
    page = signed_in
    page.guard.allow("status of 422")  # the refusal itself: the page comes back as a 422
    await open_composer(page)
    photo = sandbox_media(stack, "bread.jpg")
    await page.get_by_role("textbox", name="Caption", exact=True).fill("Fresh bread #bakery")
    media = page.get_by_role("group", name="Media 1")
    await media.get_by_label("Address (URL)").fill(photo)
    await media.get_by_label("Description (alt text)").fill("A loaf")
    await page.get_by_role("checkbox", name=PAGE_BOX).check()
    await page.get_by_role("checkbox", name=TIKTOK_BOX).check()
    tiktok = panel(page, "Tia Creator (TikTok)")
    await tiktok.get_by_label("Allow comments").check()
    await tiktok.get_by_label("Caption for this account (optional)").fill("Bread, on TikTok")
    await page.get_by_label("Schedule").check()
    await page.get_by_label("Date").fill("2031-05-06")
    await page.get_by_label("Time", exact=True).fill("09:30")
    await page.get_by_label("Time zone").select_option("Europe/Paris")

    await page.get_by_role("button", name="Schedule post").click()

    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("There is a problem")
    await expect(summary).to_be_focused()
    await expect(page).to_have_title("Error: Compose · Postifys")
    tiktok = panel(page, "Tia Creator (TikTok)")
    await expect(tiktok).to_be_visible()
    audience = tiktok.get_by_role("group", name="Who can see this post")
    await expect(audience).to_contain_text("Error: Tia Creator: Choose who can see this post on TikTok.")
    await summary.get_by_role("link", name="Tia Creator: Choose who can see this post on TikTok.").click()
    await expect(audience.get_by_role("radio", name="Everyone")).to_be_focused()
    await expect(page.get_by_role("textbox", name="Caption", exact=True)).to_have_value("Fresh bread #bakery")
    await expect(media.get_by_label("Address (URL)")).to_have_value(photo)
    await expect(media.get_by_label("Description (alt text)")).to_have_value("A loaf")
    await expect(page.get_by_role("checkbox", name=PAGE_BOX)).to_be_checked()
    await expect(page.get_by_role("checkbox", name=TIKTOK_BOX)).to_be_checked()
    await expect(tiktok.get_by_label("Allow comments")).to_be_checked()
    await expect(tiktok.get_by_label("Caption for this account (optional)")).to_have_value("Bread, on TikTok")
    await expect(page.get_by_label("Schedule")).to_be_checked()
    await expect(page.get_by_label("Date")).to_have_value("2031-05-06")
    await expect(page.get_by_label("Time", exact=True)).to_have_value("09:30")
    await expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
    await expect(panel(page, "Acme Fans (Facebook Page)")).to_have_count(0)
    await axe(page)
    assert await posts_of(page.member) == []

    await audience.get_by_role("radio", name="Only me").check()
    await stub_post_page_when_missing(page, page.member)
    await page.get_by_role("button", name="Schedule post").click()
    await page.wait_for_url("**/posts/*")
    (post,) = await posts_of(page.member)
    assert post["timezone"] == "Europe/Paris"
    assert post["scheduled_at"].startswith("2031-05-06T07:30:00")
    tiktok_target = next(t for t in post["targets"] if t["platform"] == "tiktok")
    assert tiktok_target["settings"]["privacy_level"] == "SELF_ONLY"


async def test_a_double_click_on_publish_makes_one_post(signed_in: Any) -> None:
    page = signed_in
    await open_composer(page)
    await stub_post_page_when_missing(page, page.member)
    await page.get_by_role("textbox", name="Caption", exact=True).fill("Once, however often it is clicked")
    await page.get_by_role("checkbox", name=PAGE_BOX).check()

    await page.get_by_role("button", name="Publish now").dblclick()

    await page.wait_for_url("**/posts/*?notice=publishing")
    await page.wait_for_load_state("load")
    posts = await posts_of(page.member)
    assert [p["caption"] for p in posts] == ["Once, however often it is clicked"]
    assert page.url.split("?")[0].endswith(posts[0]["id"])


async def test_the_whole_composer_works_by_keyboard_alone(signed_in: Any, stack: Stack) -> None:
    page = signed_in
    member: BrowserMember = page.member
    await open_composer(page)
    await stub_post_page_when_missing(page, member)
    keyboard = page.keyboard

    await tab_to(page, "#caption")
    await keyboard.type("Typed, tabbed and spaced")
    await tab_to(page, "#media-0-url")
    await keyboard.type(sandbox_media(stack, "keys.jpg"))
    await tab_to(page, f"#account-{member.accounts[PAGE]}")
    await keyboard.press("Space")
    await tab_to(page, f"#account-{member.accounts[TIKTOK]}")
    await keyboard.press("Space")
    tiktok = member.accounts[TIKTOK]
    await tab_to(page, f"#t-{tiktok}-privacy_level")  # the first audience: Everyone
    await keyboard.press("Space")
    await tab_to(page, f"#t-{tiktok}-allow_comment")
    await keyboard.press("Space")
    await tab_to(page, f"#t-{tiktok}-commercial")
    await keyboard.press("Space")
    await tab_to(page, f"#t-{tiktok}-brand_organic")
    await keyboard.press("Space")
    await tab_to(page, "#publish")
    await keyboard.press("Enter")

    await page.wait_for_url("**/posts/*?notice=publishing")
    (post,) = await posts_of(member)
    assert post["caption"] == "Typed, tabbed and spaced"
    settings = {t["platform"]: t["settings"] for t in post["targets"]}
    assert settings["tiktok"] == {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                  "auto_add_music": False, "brand_organic_toggle": True,
                                  "brand_content_toggle": False}
    assert settings["facebook"] == {}


async def test_counts_and_previews_follow_the_caption_and_media(signed_in: Any, stack: Stack) -> None:
    page = signed_in
    await open_composer(page)
    text = "#sea #sun @acme " + "a" * 150
    await page.get_by_role("checkbox", name="Acme Bakery Instagram").check()
    counts = page.locator("#caption-counts")
    await expect(counts.locator("[data-count-platform=facebook]")).to_be_hidden()

    await page.get_by_role("textbox", name="Caption", exact=True).fill(text)

    instagram_counts = counts.locator("[data-count-platform=instagram]")
    await expect(instagram_counts).to_contain_text(f"{len(text)} of 2,200 characters")
    await expect(instagram_counts).to_contain_text("2 of 30 hashtags")
    await expect(instagram_counts).to_contain_text("1 of 20 mentions")
    preview = page.get_by_role("region", name="Preview for Acme Bakery (Instagram)")
    await expect(preview).to_contain_text(text[:125] + "… more")

    media = page.get_by_role("group", name="Media 1")
    await media.get_by_label("Address (URL)").fill("https://cdn.elsewhere.example/summer/beach.jpg")
    await media.get_by_label("Address (URL)").press("Tab")
    await expect(preview.get_by_text("Image: beach.jpg")).to_be_visible()
    assert await preview.locator("img[src*='elsewhere']").count() == 0  # a host the page's CSP does not allow
    shown = sandbox_media(stack, "shown.jpg")
    await media.get_by_label("Address (URL)").fill(shown)
    await media.get_by_label("Address (URL)").press("Tab")
    await expect(preview.locator(f"img[src='{shown}']")).to_have_count(1)

    instagram = panel(page, "Acme Bakery (Instagram)")
    await instagram.get_by_label("Caption for this account (optional)").fill("Short")
    await expect(preview).to_contain_text("Short")
    await expect(preview.get_by_text("… more")).to_be_hidden()


async def test_media_rows_are_added_and_removed_in_place(signed_in: Any) -> None:
    page = signed_in
    await open_composer(page)
    rows = page.locator("[data-media-row]")
    await expect(rows).to_have_count(1)  # the empty rows kept for use without JavaScript are gone

    await page.get_by_role("button", name="Add another").click()

    await expect(rows).to_have_count(2)
    second = page.get_by_role("group", name="Media 2")
    await expect(second.get_by_label("Address (URL)")).to_be_focused()
    await second.get_by_label("Address (URL)").fill("https://cdn.test/five.mp4")
    await page.get_by_role("button", name="Remove media 1").click()
    await expect(rows).to_have_count(1)
    await expect(page.get_by_role("group", name="Media 1").get_by_label("Address (URL)")).to_have_value(
        "https://cdn.test/five.mp4")
    await expect(page.get_by_role("group", name="Media 1").get_by_label("Type")).to_have_value("video")


async def test_without_javascript_every_panel_is_there_and_the_post_goes_out(
        new_page: Callable[..., Awaitable[Any]], member: BrowserMember, stack: Stack, axe: Any) -> None:
    page = await new_page(java_script=False, cookies=member.cookies)
    await stub_post_page_when_missing(page, member)
    await open_composer(page)
    for name in ("Tia Creator (TikTok)", "Acme Bakery (Facebook Page)", "Acme Bakery (Instagram)"):
        await expect(panel(page, name)).to_be_visible()
    await expect(page.get_by_text("By posting, you agree to TikTok's Music Usage Confirmation.")).to_be_visible()
    await page.get_by_role("group", name="Media 1").get_by_label("Address (URL)").fill(
        sandbox_media(stack, "plain.jpg"))
    await page.get_by_role("button", name="Add another").click()
    await expect(page.locator("[data-media-row]")).to_have_count(5)
    await expect(page.get_by_role("region", name="Preview for Tia Creator (TikTok)").locator(
        "img[src*='plain.jpg']")).to_have_count(1)

    await page.get_by_role("checkbox", name=TIKTOK_BOX).check()
    await panel(page, "Tia Creator (TikTok)").get_by_role("radio", name="Friends (followers you follow back)").check()
    await page.get_by_label("Save as draft").check()
    await page.get_by_role("button", name="Publish now").click()  # the label the page was served with

    await page.wait_for_url("**/posts/*?notice=draft_saved")
    (post,) = await wait_for(lambda: posts_of(member), message="the draft")
    assert post["draft"] is True
    assert post["targets"][0]["settings"]["privacy_level"] == "MUTUAL_FOLLOW_FRIENDS"


async def test_the_composer_is_accessible(signed_in: Any, axe: Any) -> None:
    page = signed_in
    await open_composer(page)
    await axe(page)
    for box in (TIKTOK_BOX, PAGE_BOX, "Acme Bakery Instagram"):
        await page.get_by_role("checkbox", name=box).check()
    await page.get_by_label("Schedule").check()
    await axe(page)
