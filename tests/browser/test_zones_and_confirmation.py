"""In a real browser: the time zone chosen on Settings moves the times on the calendar and a post's page; the zone
field is a list typed into, working without JavaScript, and an unknown zone is a sentence beside what was typed;
someone who has not confirmed their email sees Connect and Publish disabled, says why, and can resend the link."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.browser.conftest import BrowserMember
from tests.support import Stack, sign_up, wait_for

PAGE = "1029"  # the sandbox's Facebook Page
DUE = "2027-01-15T12:00:00+00:00"  # Tokyo keeps no summer time: 21:00 there all year


async def choose_zone_by_keyboard(page: Any, zone: str) -> None:
    await page.goto("/settings")
    field = page.get_by_label("Time zone")
    await field.focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.type(zone)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/settings\?notice=settings_saved$"))


async def test_a_new_time_zone_moves_the_calendar_and_the_post_times(signed_in: Any, axe: Any) -> None:
    from playwright.async_api import expect

    page = signed_in
    member: BrowserMember = page.member
    created = await member.http.post("/api/v1/posts", json={"caption": "Winter bagels", "media": [],
                                                            "scheduled_at": DUE, "timezone": "UTC",
                                                            "targets": [{"account_id": member.accounts[PAGE]}]})
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    event = page.locator(f'a.event[href="/posts/{post_id}"] .event__time')
    when = page.get_by_role("region", name="When")

    await page.goto("/calendar?date=2027-01-15")
    await expect(event).to_have_text("12:00")
    await page.goto(f"/posts/{post_id}")
    await expect(when).to_contain_text("Fri 15 Jan 2027, 12:00")

    await choose_zone_by_keyboard(page, "Asia/Tokyo")
    await axe(page)
    await expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    await page.goto("/calendar?date=2027-01-15")
    await expect(event).to_have_text("21:00")
    await expect(page.get_by_text("Times are in your time zone, Asia/Tokyo")).to_be_visible()
    await page.goto(f"/posts/{post_id}")
    await expect(when).to_contain_text("Fri 15 Jan 2027, 21:00")
    await expect(when).to_contain_text("12:00 in UTC, the time zone it was written for")


async def test_without_javascript_an_unknown_zone_is_a_sentence_beside_what_was_typed(
        new_page: Any, member: BrowserMember) -> None:
    page = await new_page(cookies=member.cookies, java_script=False)
    page.guard.allow("status of 422")
    await page.goto("/settings")
    field = page.get_by_label("Time zone")
    assert await field.get_attribute("list") == "timezone-zones"
    assert await page.locator("#timezone-zones option[value='Europe/Paris']").count() == 1
    await field.fill("Mars/Olympus")
    await page.get_by_role("button", name="Save your profile").click()
    await page.locator("#timezone-error").get_by_text("is not a time zone we know").wait_for()
    assert await field.input_value() == "Mars/Olympus"
    assert await field.get_attribute("aria-invalid") == "true"
    assert "timezone-error" in (await field.get_attribute("aria-describedby") or "")

    await field.fill("Europe/Paris")
    await page.get_by_role("button", name="Save your profile").click()
    await page.wait_for_url(re.compile(r"/settings\?notice=settings_saved$"))
    assert await field.input_value() == "Europe/Paris"


async def test_unconfirmed_email_disables_connect_and_publish_and_says_why(new_page: Any, stack: Stack,
                                                                          axe: Any) -> None:
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=stack.gateway, headers={"x-forwarded-for": stack.new_client_ip()}) as http:
        user = await sign_up(http, stack, verified=False, name="Ada Unconfirmed")
        # What the pages explain: the API itself refuses connecting until the address is confirmed.
        assert (await http.post("/api/v1/auth/login", json={"email": user["email"],
                                                            "password": user["password"]})).status_code == 200
        refused = await http.get("/api/v1/connections/facebook/start")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "email_not_verified"
    await stack.mail(user["email"], "Confirm your email")
    page = await new_page()
    await page.goto("/signin")
    await page.get_by_label("Email address").fill(user["email"])
    await page.get_by_label("Password").fill(user["password"])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/$"))

    await page.goto("/accounts")
    buttons = page.get_by_role("button", name=re.compile(r"^Connect"))
    assert await buttons.count() >= 2
    for button in await buttons.all():
        await expect(button).to_be_disabled()
        await expect(button).to_have_accessible_description(re.compile("waits until you confirm your email"))
    assert await page.get_by_role("link", name=re.compile(r"^Connect")).count() == 0
    await axe(page)

    await page.goto("/compose")
    publish = page.locator("#publish")
    await expect(publish).to_be_disabled()
    await expect(publish).to_have_accessible_description(re.compile("wait until you confirm your email"))
    await page.get_by_role("radio", name="Schedule").check()
    await expect(publish).to_have_text("Schedule post")
    await expect(publish).to_be_disabled()
    await axe(page)
    await page.locator("#publish-locked").get_by_role("button", name="Resend verification").click()
    await page.wait_for_url(re.compile(r"/compose\?notice=confirmation_sent$"))

    async def two() -> bool:
        return len([m for m in stack.mailbox.for_address(user["email"]) if "Confirm your email" in m.subject]) == 2
    await wait_for(two, message="a second confirmation mail")
