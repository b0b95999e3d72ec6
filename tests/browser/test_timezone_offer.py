"""Someone still on the UTC default (signed up without a zone) is offered their browser's zone on any page."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import BrowserMember


async def test_the_browsers_zone_is_offered_once_and_taken_with_one_click(new_page: Any, member: BrowserMember,
                                                                          axe: Any) -> None:
    assert (await member.http.get("/api/v1/me")).json()["timezone"] == "UTC"
    page = await new_page(cookies=member.cookies, timezone="America/New_York")
    await page.goto("/calendar")
    offer = page.get_by_role("button", name="Use my browser's time zone")
    await offer.wait_for()
    await page.get_by_text("your browser is set to America/New_York").wait_for()
    await axe(page)
    await offer.click()
    await page.get_by_text("Times are now shown in your browser's time zone.").wait_for()
    assert page.url.split("?")[0].endswith("/calendar")
    assert (await member.http.get("/api/v1/me")).json()["timezone"] == "America/New_York"
    assert await page.get_by_role("button", name="Use my browser's time zone").count() == 0


async def test_keeping_utc_is_remembered_and_a_browser_in_utc_is_not_asked(new_page: Any,
                                                                           member: BrowserMember) -> None:
    page = await new_page(cookies=member.cookies, timezone="Asia/Tokyo")
    await page.goto("/posts")
    await page.get_by_role("button", name="Keep UTC").click()
    assert not await page.get_by_role("button", name="Use my browser's time zone").is_visible()
    await page.goto("/calendar")
    await page.get_by_role("heading", level=1).wait_for()
    assert not await page.get_by_role("button", name="Use my browser's time zone").is_visible()
    assert (await member.http.get("/api/v1/me")).json()["timezone"] == "UTC"

    in_utc = await new_page(cookies=member.cookies, timezone="UTC")
    await in_utc.goto("/posts")
    await in_utc.get_by_role("heading", level=1).wait_for()
    assert not await in_utc.get_by_role("button", name="Use my browser's time zone").is_visible()
