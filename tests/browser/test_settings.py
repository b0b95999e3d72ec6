"""The settings pages in a real browser: the password and the sessions (another browser's cookie refused), the
email changed through the mailbox, the failure mails turned off and on, the export downloaded, the account
deleted until its status page says completed; and each page by axe-core, at a phone's width and by keyboard."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.browser.conftest import BrowserMember
from tests.browser.support import screenshot
from tests.support import Stack, items, sandbox, sign_up, token_from, unique_email, wait_for

SETTINGS = {"/settings": "Settings", "/settings/security": "Security", "/settings/notifications": "Notifications",
            "/settings/data": "Your data"}
NARROW = {"width": 390, "height": 844}
NEW_PASSWORD = "a kettle of fish on tuesday afternoons"
FAILED = "A post could not be published"
IG = "178414"


async def sign_in_with_form(page: Any, email: str, password: str) -> None:
    await page.goto("/signin")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def signed_out(page: Any) -> bool:
    await page.goto("/settings")
    return "/signin" in page.url


async def test_a_new_password_refuses_the_other_browsers_cookie(signed_in: Any, new_page: Any,
                                                               member: BrowserMember) -> None:
    page = signed_in
    page.guard.allow("status of 422")
    other = await new_page()
    await sign_in_with_form(other, member.user["email"], member.user["password"])
    await other.wait_for_url(re.compile(r"/$"))

    await page.goto("/settings/security")
    await page.get_by_label("Current password").fill(member.user["password"])
    await page.get_by_label("New password").fill("password1234")
    await page.get_by_role("button", name="Change the password").click()
    # identity's reason, as a sentence next to the field
    await page.locator("#new_password-error").get_by_text("too common or too easy to guess").wait_for()
    assert await page.get_by_label("New password").get_attribute("aria-invalid") == "true"

    await page.get_by_label("Current password").fill(member.user["password"])
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change the password").click()
    await page.wait_for_url(re.compile(r"/settings/security\?notice=password_updated$"))
    assert "Your other sessions are signed out." in await page.get_by_role("status").inner_text()
    assert not await signed_out(page)
    assert await signed_out(other)


async def test_revoking_a_session_signs_that_browser_out(signed_in: Any, new_page: Any,
                                                         member: BrowserMember, axe: Any) -> None:
    page = signed_in
    phone = await new_page()
    laptop = await new_page()
    for browser in (phone, laptop):
        await sign_in_with_form(browser, member.user["email"], member.user["password"])
        await browser.wait_for_url(re.compile(r"/$"))

    await page.goto("/settings/security")
    sessions = page.get_by_role("region", name="Where you are signed in")
    this_device = sessions.get_by_role("row").filter(has_text="This device")
    assert await this_device.count() == 1
    assert await this_device.get_by_role("button", name="Sign out").count() == 1
    header = await sessions.get_by_role("columnheader").all_inner_texts()
    assert header[:4] == ["Device", "Address", "Signed in", "Last seen"]
    revokes = sessions.get_by_role("button", name=re.compile(r"^Revoke Chrome on Linux"))
    assert await revokes.count() == 2
    await revokes.first.click()
    await page.wait_for_url(re.compile(r"notice=session_revoked$"))
    assert await sessions.get_by_role("button", name=re.compile(r"^Revoke Chrome on Linux")).count() == 1
    assert [await signed_out(phone), await signed_out(laptop)].count(True) == 1

    await page.get_by_role("button", name="Sign out everywhere else").click()
    await page.wait_for_url(re.compile(r"notice=others_signed_out$"))
    assert await signed_out(phone)
    assert await signed_out(laptop)
    assert not await signed_out(page)

    # The history: the browsers' sign-ins, in the person's zone, with the browser and the outcome.
    await page.goto("/settings/security")
    history = page.get_by_role("region", name="Sign-in history")
    assert await history.get_by_role("row").filter(has_text="Chrome on Linux").filter(
        has_text="Succeeded").count() == 2
    await axe(page)


async def test_the_email_changes_once_the_new_inbox_confirms(signed_in: Any, member: BrowserMember,
                                                             stack: Stack) -> None:
    page = signed_in
    page.guard.allow("status of 403")
    new_email = unique_email("moved")
    await page.goto("/settings")
    await page.get_by_label("New email address").fill(new_email)
    await page.get_by_label("Your password").fill("not the password at all")
    await page.get_by_role("button", name="Change the email address").click()
    await page.locator("#password-error").get_by_text("Your password is not right.").wait_for()
    assert await page.get_by_label("New email address").input_value() == new_email  # kept

    await page.get_by_label("Your password").fill(member.user["password"])
    await page.get_by_role("button", name="Change the email address").click()
    await page.wait_for_url(re.compile(r"notice=email_change_sent$"))
    assert "Check your new inbox" in await page.get_by_role("status").inner_text()
    pending = page.get_by_role("definition").filter(has_text=new_email)
    assert "Link sent" in await pending.inner_text()

    token = token_from(await stack.mail(new_email, "Confirm your new email address"))
    await page.goto(f"/verify-email#token={token}")
    await page.wait_for_url(re.compile(r"/settings\?notice=email_changed$"))
    facts = await page.get_by_role("region", name="Email address").inner_text()
    assert new_email in facts
    assert member.user["email"] not in facts
    assert "Confirmed" in facts


async def choose_failure_mails(page: Any, on: bool) -> None:
    await page.goto("/settings/notifications")
    box = page.get_by_role("checkbox", name="A post could not be published")
    await box.set_checked(on)
    await page.get_by_role("button", name="Save your choices").click()
    await page.wait_for_url(re.compile(r"notice=notifications_saved$"))
    assert await page.get_by_role("checkbox", name="A post could not be published").is_checked() is on


async def failing_post(member: BrowserMember, stack: Stack) -> str:
    """Instagram cannot fetch an image the sandbox does not have: the target fails for good."""
    broken = {"url": f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media-missing/gone.jpg", "type": "image"}
    created = await member.http.post("/api/v1/posts", json={"caption": "Broken image", "media": [broken],
                                                            "targets": [{"account_id": member.accounts[IG]}]})
    assert created.status_code == 201, created.text
    post_id = str(created.json()["id"])

    async def failed() -> bool:
        post = (await member.http.get(f"/api/v1/posts/{post_id}")).json()
        return bool(post["targets"][0]["status"] == "failed")
    await wait_for(failed, timeout=40, message=f"post {post_id} to fail")
    return post_id


async def taken(db: asyncpg.Connection, count: int) -> None:
    async def enough() -> bool:
        return int(await db.fetchval("SELECT count(*) FROM identity.inbox WHERE type = 'post.target.failed'")) >= count
    await wait_for(enough, message="identity to take the failure")


async def test_failure_mails_follow_the_checkbox(signed_in: Any, member: BrowserMember, stack: Stack,
                                                 db: asyncpg.Connection) -> None:
    page = signed_in
    email = member.user["email"]
    await page.goto("/settings/notifications")
    assert await page.get_by_role("checkbox", name="A post could not be published").is_checked()  # by default
    assert not await page.get_by_role("checkbox", name="A post has been published").is_checked()
    assert await page.get_by_role("checkbox", name="An account needs reconnecting").is_checked()

    await choose_failure_mails(page, on=False)
    before = int(await db.fetchval("SELECT count(*) FROM identity.inbox WHERE type = 'post.target.failed'"))
    await failing_post(member, stack)
    await taken(db, before + 1)
    assert [m for m in stack.mailbox.for_address(email) if FAILED in m.subject] == []

    await choose_failure_mails(page, on=True)
    second = await failing_post(member, stack)
    mail = await stack.mail(email, FAILED)
    assert f"/posts/{second}" in mail.text
    await taken(db, before + 2)
    assert len([m for m in stack.mailbox.for_address(email) if FAILED in m.subject]) == 1


async def test_the_export_downloads_the_posts_and_accounts_and_no_token(signed_in: Any, member: BrowserMember,
                                                                        stack: Stack) -> None:
    page = signed_in
    created = await member.http.post("/api/v1/posts", json={
        "caption": "Exported sourdough", "scheduled_at": "2031-01-01T09:00:00+00:00", "media": [],
        "targets": [{"account_id": member.accounts["1029"]}]})
    assert created.status_code == 201, created.text
    await page.goto("/settings/data")
    counts = page.get_by_role("definition")
    summary = await page.locator(".counts").inner_text()
    assert re.search(r"Posts\s+1 post\b", summary), summary
    assert re.search(r"Connected accounts\s+\d+ accounts", summary), summary
    assert await counts.count() >= 9

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Download your data (JSON)").click()
    download = await waiting.value
    assert download.suggested_filename == f"postifys-export-{datetime.now(UTC).date().isoformat()}.json"
    text = Path(await download.path()).read_text(encoding="utf-8")
    exported = json.loads(text)
    assert [p["caption"] for p in exported["posts"]] == ["Exported sourdough"]
    assert {a["id"] for a in exported["accounts"]} >= set(member.accounts.values())
    assert exported["profile"]["email"] == member.user["email"]
    tokens = [t["token"] for t in items(await sandbox(stack, "GET", "/_sandbox/tokens"))]
    assert tokens
    assert not any(token in text for token in tokens)
    assert "access_token" not in text
    assert "refresh_token" not in text


async def test_deleting_the_account_from_the_page(signed_in: Any, member: BrowserMember, new_page: Any,
                                                  axe: Any) -> None:
    page = signed_in
    page.guard.allow("status of 422")
    page.guard.allow("status of 401")
    await page.goto("/settings/data")
    await page.get_by_role("link", name="Delete your account…").click()
    await axe(page)
    await page.get_by_label("Your password").fill(member.user["password"])
    await page.get_by_label("Type your email address to confirm").fill("someone@else.example")
    await page.get_by_role("button", name="Delete my account").click()
    await page.locator("#confirm_email-error").wait_for()

    await page.get_by_label("Your password").fill(member.user["password"])
    await page.get_by_label("Type your email address to confirm").fill(member.user["email"])
    await page.get_by_role("button", name="Delete my account").click()
    await page.wait_for_url(re.compile(r"/privacy/deletion/[A-Za-z0-9]+$"))
    assert (await page.get_by_role("heading", level=1).inner_text()).startswith("Deletion request")
    assert await page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in").count() == 1
    # The page follows the deletion by itself (it reloads as each part finishes) until it is complete.
    await page.get_by_role("definition").filter(has_text="Completed").wait_for(timeout=60_000)
    await page.get_by_text("Profile, email address, password, sessions and sign-in history").wait_for()
    await axe(page)

    await sign_in_with_form(page, member.user["email"], member.user["password"])
    await page.locator("#error-summary").get_by_text("The email address or password is not right.").wait_for()


async def tab_through(page: Any) -> set[str]:
    """Every element Tab reaches in main, by id or name, going once round the page."""
    reached: set[str] = set()
    for _ in range(200):
        await page.keyboard.press("Tab")
        where = await page.evaluate("""() => { const e = document.activeElement;
            if (!e || e === document.body) return null;
            const name = e.id || e.getAttribute('name') || e.textContent.trim();
            return (e.closest('main') ? 'main:' : 'out:') + name; }""")
        if where is None or where in reached:
            break
        reached.add(where)
    return {r.removeprefix("main:") for r in reached if r.startswith("main:")}


async def test_each_settings_page_passes_axe_a_phone_and_the_keyboard(new_page: Any, member: BrowserMember,
                                                                      axe: Any) -> None:
    page = await new_page(cookies=member.cookies)
    phone = await new_page(cookies=member.cookies, viewport=NARROW)
    for path, heading in SETTINGS.items():
        await page.goto(path)
        assert await page.get_by_role("heading", level=1).inner_text() == heading
        current = page.get_by_role("navigation", name="Settings").locator("[aria-current=page]")
        assert await current.inner_text() == ("Profile" if path == "/settings" else heading)
        await axe(page)
        await screenshot(page, "settings" if path == "/settings" else f"settings-{path.rsplit('/', 1)[1]}")
        await phone.goto(path)
        assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path

        controls = await page.evaluate("""() => [...document.querySelectorAll(
            'main input:not([type=hidden]), main select, main button, main a[href]')]
            .filter((e) => e.offsetParent !== null)
            .map((e) => e.id || e.getAttribute('name') || e.textContent.trim())""")
        await page.locator("body").focus()
        reached = await tab_through(page)
        assert set(controls) <= reached, (path, set(controls) - reached)

    # Saving a choice with the keyboard alone.
    await page.goto("/settings/notifications")
    await page.get_by_role("checkbox", name="A post has been published").focus()
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"notice=notifications_saved$"))
    assert await page.get_by_role("checkbox", name="A post has been published").is_checked()


async def test_after_signing_out_back_shows_no_signed_in_page(signed_in: Any, member: BrowserMember) -> None:
    page = signed_in
    await page.goto("/settings/security")
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await page.wait_for_url(re.compile(r"notice=signed_out$"))
    await page.go_back()
    await page.wait_for_load_state()
    assert "/signin" in page.url
    assert await page.get_by_text(member.user["email"]).count() == 0
    assert await page.get_by_role("link", name="Mira Okafor").count() == 0


async def test_an_unknown_address_is_a_page_with_a_way_back(new_page: Any, signed_in: Any, axe: Any) -> None:
    for browser in (await new_page(), signed_in):
        browser.guard.allow("status of 404")
        response = await browser.goto("/no/such/page")
        assert response.status == 404
        assert "text/html" in response.headers["content-type"]
        assert await browser.get_by_role("heading", level=1).inner_text() == "Page not found"
        await axe(browser)
        await browser.get_by_role("main").get_by_role("link", name=re.compile("home page")).click()
        await browser.wait_for_url(re.compile(r"/$"))


async def test_the_banner_resends_the_confirmation_link(new_page: Any, stack: Stack, axe: Any) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway, headers={"x-forwarded-for": stack.new_client_ip()}) as http:
        user = await sign_up(http, stack, verified=False, name="Ada Unconfirmed")
    await stack.mail(user["email"], "Confirm your email")
    page = await new_page()
    await sign_in_with_form(page, user["email"], user["password"])
    await page.wait_for_url(re.compile(r"/$"))
    await page.goto("/posts")
    banner = page.locator("form.banner--warn")
    assert user["email"] in await banner.inner_text()
    await axe(page)
    await banner.get_by_role("button", name="Send it again").click()
    await page.wait_for_url(re.compile(r"/posts\?notice=confirmation_sent$"))
    assert "new confirmation link" in await page.get_by_role("status").inner_text()

    async def two() -> bool:
        return len([m for m in stack.mailbox.for_address(user["email"]) if "Confirm your email" in m.subject]) == 2
    await wait_for(two, message="a second confirmation mail")
    await page.goto("/settings")
    assert "Not confirmed" in await page.get_by_role("region", name="Email address").inner_text()
    assert await page.get_by_role("button", name="Resend verification").count() == 1
