"""The whole journey of a person in a real browser, without touching the API: sign up, confirm from the mailbox,
connect Facebook, Instagram and TikTok through the platforms' consent pages, compose one post to all three with
TikTok's settings chosen in its panel and a caption of Instagram's own, schedule it in Paris, see it on the
calendar at its local time, let it publish, and read every account's permalink on the post page.

The test moves the clock rather than waiting: once the post is seen scheduled, its targets are made due now."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from tests.browser.support import screenshot
from tests.e2e.publishing_support import media_url
from tests.support import STRONG_PASSWORD, Stack, sandbox, token_from, unique_email

PARIS = ZoneInfo("Europe/Paris")
ACCOUNTS = {"facebook": "5551", "instagram": "1020", "tiktok": "-000abc"}
CAPTION = "Fresh sourdough is out of the oven. Come early! #bakery"
INSTAGRAM_CAPTION = "Sourdough day at the bakery! Fresh loaves until noon. #bakery #sourdough"


def next_dst_change(after: date, zone: ZoneInfo) -> date:
    """The first day after `after` whose UTC offset at noon differs from the day before's."""
    day = after
    while True:
        following = day + timedelta(days=1)
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        next_noon = datetime(following.year, following.month, following.day, 12, tzinfo=zone)
        if noon.utcoffset() != next_noon.utcoffset():
            return following
        day = following


async def sign_up_and_confirm(page: Any, stack: Stack, email: str) -> None:
    await page.goto("/")
    await page.get_by_role("link", name="Create an account").first.click()
    await page.get_by_label("Your name").fill("Mira Okafor")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Create an account").click()
    await page.wait_for_load_state()
    link = re.search(r"https?://\S+#token=\S+", (await stack.mail(email, "Confirm your email")).text)
    assert link, "the confirmation mail has a link"
    assert token_from(await stack.mail(email, "Confirm your email"))
    await page.goto(link[0])
    await page.get_by_text(re.compile("confirmed", re.I)).first.wait_for()


async def sign_in(page: Any, email: str) -> None:
    if await page.get_by_label("Email address").count() == 0:
        await page.goto("/signin")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("banner").get_by_role("link", name="Mira Okafor").wait_for()


async def connect_in_the_browser(page: Any, provider: str, button: str) -> None:
    await page.goto("/accounts")
    await page.get_by_role("link", name=button).click()
    await page.wait_for_url(re.compile(r"/_sandbox/|/dialog/|/oauth|/authorize|/v\d+"))
    await page.get_by_label("Continue as").select_option(ACCOUNTS[provider])
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url(re.compile(r"/accounts\?"))
    await page.get_by_text(re.compile(r"is connected")).first.wait_for()


async def test_a_person_does_everything_in_the_browser(new_page: Any, stack: Stack, axe: Any) -> None:
    await sandbox(stack, "POST", "/_sandbox/reset")
    page = await new_page(timezone="Europe/Paris")
    email = unique_email("journey")
    await sign_up_and_confirm(page, stack, email)
    await sign_in(page, email)

    await connect_in_the_browser(page, "facebook", "Connect Facebook")
    await connect_in_the_browser(page, "instagram", "Connect with Instagram")
    await connect_in_the_browser(page, "tiktok", "Connect TikTok")
    accounts_page = page.get_by_role("main")
    for name in ("Acme Bakery", "acmebakery", "Acme Studio", "Tia Creator"):
        await accounts_page.get_by_text(name).first.wait_for()
    await axe(page)

    # The composer: one image, three accounts, TikTok's choices made in its panel, Instagram's own caption.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Compose").click()
    await page.get_by_role("textbox", name="Caption", exact=True).fill(CAPTION)
    await page.get_by_label("Address (URL)").first.fill(media_url(stack, "sample-bread.jpg"))
    await page.get_by_label("Description (alt text)").first.fill("A sourdough loaf on the counter")
    for name in ("Acme Bakery Facebook Page", "Acme Bakery Instagram", "Tia Creator TikTok"):
        await page.get_by_role("checkbox", name=name, exact=True).check()
    tiktok = page.get_by_role("group", name=re.compile(r"Tia Creator \(TikTok"))
    await tiktok.get_by_text("Posting to").wait_for()
    everyone = tiktok.get_by_role("radio", name="Everyone")
    assert not await everyone.is_checked(), "TikTok's privacy has no default"
    await everyone.check()
    await tiktok.get_by_role("checkbox", name="Allow comments").check()
    instagram = page.get_by_role("group", name=re.compile(r"Acme Bakery \(Instagram"))
    await instagram.get_by_label("Caption for this account (optional)").fill(INSTAGRAM_CAPTION)

    # Two minutes ahead, in the person's zone (the browser's, Europe/Paris, taken at sign-up).
    due_local = (datetime.now(PARIS) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    await page.get_by_role("radio", name="Schedule").check()
    await page.get_by_label("Date").fill(due_local.strftime("%Y-%m-%d"))
    await page.get_by_label("Time", exact=True).fill(due_local.strftime("%H:%M"))
    assert await page.get_by_label("Time zone").input_value() == "Europe/Paris"
    await page.get_by_text("Music Usage Confirmation").first.wait_for()
    await axe(page)
    await screenshot(page, "composer")
    await page.get_by_role("button", name=re.compile("Schedule")).click()
    await page.wait_for_url(re.compile(r"/posts/[0-9a-f-]{36}"))
    post_id = re.search(r"/posts/([0-9a-f-]{36})", page.url)[1]
    await page.get_by_text("Your post is scheduled.").wait_for()

    post = (await (await page.request.get(f"/api/v1/posts/{post_id}")).json())
    assert post["timezone"] == "Europe/Paris"
    assert datetime.fromisoformat(post["due_at"]) == due_local.astimezone(UTC)
    by_platform = {t["platform"]: t for t in post["targets"]}
    assert set(by_platform) == {"facebook", "instagram", "tiktok"}
    assert by_platform["tiktok"]["settings"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert by_platform["tiktok"]["settings"]["allow_comment"] is True
    assert by_platform["instagram"]["caption"] == INSTAGRAM_CAPTION
    assert by_platform["facebook"]["caption"] is None

    # The calendar shows it on its local day, at its local time.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    entry = page.locator(f'a[href="/posts/{post_id}"]').first
    await entry.wait_for()
    assert due_local.strftime("%H:%M") in await entry.inner_text()
    await axe(page)
    await screenshot(page, "calendar")

    # A post on the day the clocks change in Paris sits at the local hour it was given.
    change = next_dst_change(datetime.now(PARIS).date(), PARIS)
    await page.goto("/compose")
    await page.get_by_role("textbox", name="Caption", exact=True).fill("Summer hours start today")
    await page.get_by_role("checkbox", name="Acme Bakery Facebook Page", exact=True).check()
    await page.get_by_role("radio", name="Schedule").check()
    await page.get_by_label("Date").fill(change.isoformat())
    await page.get_by_label("Time", exact=True).fill("09:30")
    await page.get_by_role("button", name=re.compile("Schedule")).click()
    await page.wait_for_url(re.compile(r"/posts/[0-9a-f-]{36}"))
    dst_post = re.search(r"/posts/([0-9a-f-]{36})", page.url)[1]
    dst_due = datetime.fromisoformat((await (await page.request.get(f"/api/v1/posts/{dst_post}")).json())["due_at"])
    assert dst_due == datetime(change.year, change.month, change.day, 9, 30, tzinfo=PARIS).astimezone(UTC)
    await page.goto(f"/calendar?date={change.isoformat()}")
    day_entry = page.locator(f'a[href="/posts/{dst_post}"]').first
    assert "09:30" in await day_entry.inner_text()

    # Let it publish: the clock moves to its due time; the post page follows it until every target is final.
    await page.goto(f"/posts/{post_id}")
    db = await asyncpg.connect(stack.database_url)
    try:
        moved = await db.execute("UPDATE publisher.targets SET due_at = now(), next_attempt_at = now() "
                                 "WHERE post_id = $1::uuid AND status = 'scheduled'", post_id)
    finally:
        await db.close()
    assert moved == "UPDATE 3"
    links = page.get_by_role("link", name=re.compile(r"View it on (Facebook|Instagram|TikTok)"))
    await links.nth(2).wait_for(timeout=120_000)
    assert await links.count() == 3
    hrefs = sorted([await links.nth(i).get_attribute("href") for i in range(3)])
    published = (await (await page.request.get(f"/api/v1/posts/{post_id}")).json())["targets"]
    assert sorted(t["permalink"] for t in published) == hrefs
    assert all(t["status"] == "published" for t in published)
    await axe(page)
    await screenshot(page, "post")
