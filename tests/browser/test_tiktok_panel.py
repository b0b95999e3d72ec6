"""TikTok's Content Sharing Guidelines in the composer, one rule at a time, in a real browser."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.compose_steps import open_composer, panel, sandbox_media
from tests.support import Stack, connect, sandbox


async def tiktok_panel(page: Any) -> Any:
    await open_composer(page)
    settings = panel(page, "Tia Creator (TikTok)")
    await expect(settings).to_be_hidden()
    await page.get_by_role("checkbox", name="Tia Creator TikTok").check()
    await expect(settings).to_be_visible()
    return settings


async def test_the_panel_names_the_creator_and_chooses_no_privacy(signed_in: Any) -> None:
    settings = await tiktok_panel(signed_in)

    await expect(settings.get_by_text("Posting to Tia Creator")).to_be_visible()
    audience = settings.get_by_role("group", name="Who can see this post")
    radios = audience.get_by_role("radio")
    await expect(radios).to_have_count(3)
    for name in ("Everyone", "Friends (followers you follow back)", "Only me"):
        await expect(audience.get_by_role("radio", name=name)).not_to_be_checked()


async def test_interactions_are_off_and_greyed_out_where_the_creator_turned_them_off(
        signed_in: Any, stack: Stack) -> None:
    settings = await tiktok_panel(signed_in)

    await expect(settings.get_by_label("Allow comments")).not_to_be_checked()
    await expect(settings.get_by_label("Allow comments")).to_be_enabled()
    await expect(settings.get_by_label("Allow Duet")).not_to_be_checked()
    # The seeded creator has stitches turned off.
    stitch = settings.get_by_label("Allow Stitch")
    await expect(stitch).to_be_disabled()
    await expect(stitch).not_to_be_checked()
    await expect(stitch).to_have_accessible_description("Tia Creator has turned off stitches on TikTok.")

    quiet = await sandbox(stack, "POST", "/_sandbox/tiktok/creators", json={
        "display_name": "Quiet Quinn", "username": "quietquinn", "comment_disabled": True, "duet_disabled": True,
        "stitch_disabled": True})
    await connect(signed_in.member.http, stack, "tiktok", user=quiet["open_id"])
    await signed_in.reload()
    await signed_in.get_by_role("checkbox", name="Quiet Quinn TikTok").check()
    others = panel(signed_in, "Quiet Quinn (TikTok)")
    for label, noun in (("Allow comments", "comments"), ("Allow Duet", "duets"), ("Allow Stitch", "stitches")):
        await expect(others.get_by_label(label)).to_be_disabled()
        await expect(others.get_by_label(label)).not_to_be_checked()
        await expect(others.get_by_text(f"Quiet Quinn has turned off {noun} on TikTok.")).to_be_visible()


async def test_duet_and_stitch_are_not_offered_for_photo_posts(signed_in: Any, stack: Stack) -> None:
    settings = await tiktok_panel(signed_in)
    media = signed_in.get_by_role("group", name="Media 1")

    await media.get_by_label("Address (URL)").fill(sandbox_media(stack, "beach.jpg"))
    await media.get_by_label("Address (URL)").press("Tab")

    await expect(settings.get_by_label("Allow Duet")).to_be_hidden()
    await expect(settings.get_by_label("Allow Stitch")).to_be_hidden()
    await expect(settings.get_by_label("Allow comments")).to_be_visible()
    music = settings.get_by_label("Add recommended music")
    await expect(music).to_be_visible()
    await expect(music).not_to_be_checked()

    await media.get_by_label("Type").select_option("video")
    await expect(settings.get_by_label("Allow Duet")).to_be_visible()
    await expect(music).to_be_hidden()


async def test_branded_content_takes_only_me_away_with_the_reason(signed_in: Any) -> None:
    settings = await tiktok_panel(signed_in)
    only_me = settings.get_by_role("radio", name="Only me")
    await only_me.check()

    await expect(settings.get_by_label("Your brand")).to_be_hidden()
    await settings.get_by_role("switch", name="Disclose commercial content").check()
    await settings.get_by_label("Branded content").check()

    await expect(only_me).to_be_disabled()
    await expect(only_me).not_to_be_checked()
    await expect(settings.get_by_text("Branded content visibility cannot be set to private.")).to_be_visible()
    await expect(settings.get_by_text("Your post will be labelled “Paid partnership”.")).to_be_visible()

    await settings.get_by_label("Branded content").uncheck()
    await expect(only_me).to_be_enabled()
    await expect(settings.get_by_text("Branded content visibility cannot be set to private.")).to_be_hidden()


async def test_the_consent_is_shown_before_posting_and_names_the_branded_content_policy(signed_in: Any) -> None:
    await open_composer(signed_in)
    music = signed_in.get_by_text("By posting, you agree to TikTok's Music Usage Confirmation.", exact=True)
    branded = signed_in.get_by_text(
        "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation.", exact=True)
    await signed_in.get_by_role("checkbox", name="Acme Bakery Facebook Page").check()
    await expect(music).to_be_hidden()

    settings = await tiktok_panel(signed_in)
    await expect(music).to_be_visible()
    await expect(signed_in.get_by_role("link", name="Music Usage Confirmation")).to_have_attribute(
        "href", "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en")
    await settings.get_by_role("switch", name="Disclose commercial content").check()
    await settings.get_by_label("Branded content").check()

    await expect(branded).to_be_visible()
    await expect(music).to_be_hidden()
    await expect(signed_in.get_by_role("link", name="Branded Content Policy")).to_be_visible()


async def test_the_commercial_disclosure_needs_a_choice_before_posting(signed_in: Any) -> None:
    settings = await tiktok_panel(signed_in)
    publish = signed_in.get_by_role("button", name="Publish now")

    await settings.get_by_role("switch", name="Disclose commercial content").check()

    await expect(publish).to_be_disabled()
    await expect(signed_in.get_by_text("You need to indicate if your content promotes yourself, a third party, or "
                                       "both.").first).to_be_visible()
    await settings.get_by_label("Your brand").check()
    await expect(publish).to_be_enabled()
    await expect(settings.get_by_text("Your post will be labelled “Promotional content”.")).to_be_visible()


async def test_a_video_longer_than_the_creator_may_post_is_flagged(signed_in: Any, stack: Stack) -> None:
    settings = await tiktok_panel(signed_in)
    media = signed_in.get_by_role("group", name="Media 1")
    await expect(settings.get_by_text("Tia Creator can post videos up to 300 seconds long.")).to_be_visible()

    await media.get_by_label("Address (URL)").fill(sandbox_media(stack, "long.mp4", duration=400))
    await media.get_by_label("Address (URL)").press("Tab")
    await media.get_by_label("Length in seconds").fill("400")

    await expect(media.get_by_label("Type")).to_have_value("video")
    await expect(settings.get_by_text("This video is longer than 300 seconds")).to_be_visible()
    await media.get_by_label("Length in seconds").fill("200")
    await expect(settings.get_by_text("This video is longer than 300 seconds")).to_be_hidden()


async def test_the_tiktok_panel_is_accessible(signed_in: Any, axe: Any) -> None:
    settings = await tiktok_panel(signed_in)
    await settings.get_by_role("switch", name="Disclose commercial content").check()

    await axe(signed_in)

