"""Signing up and in, the mailed links, accounts and settings in a real browser: found by role and label, with
the keyboard alone, with JavaScript off, and checked by axe-core in their error states too."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.browser.conftest import BrowserMember
from tests.support import STRONG_PASSWORD, Stack, sign_up, token_from, unique_email


async def test_sign_up_confirm_and_sign_in_with_javascript(new_page: Any, stack: Stack, axe: Any) -> None:
    page = await new_page(timezone="Pacific/Auckland")
    await page.goto("/signup")
    await axe(page)
    email = unique_email("browser")
    await page.get_by_label("Your name").fill("Mira Okafor")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Create an account").click()
    await page.wait_for_url(re.compile(r"/signin\?notice=signed_up$"))
    assert "Check your inbox" in await page.get_by_role("status").inner_text()

    token = token_from(await stack.mail(email, "Confirm your email"))
    await page.goto(f"/verify-email#token={token}")  # the form submits itself with the code from the link
    await page.wait_for_url(re.compile(r"/signin\?notice=email_verified$"))
    assert "Your email address is confirmed." in await page.get_by_role("status").inner_text()

    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{stack.gateway}/")
    assert "Mira Okafor" in await page.get_by_role("heading", level=1).inner_text()
    await axe(page)

    await page.get_by_role("link", name="Mira Okafor").click()
    await page.wait_for_url(re.compile(r"/settings$"))
    assert await page.get_by_label("Time zone").input_value() == "Pacific/Auckland"  # the browser's, from sign-up


async def test_signing_in_with_the_keyboard_alone(new_page: Any, stack: Stack, axe: Any) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway, headers={"x-forwarded-for": stack.new_client_ip()}) as http:
        user = await sign_up(http, stack, name="Kofi Mensah")
    page = await new_page()
    page.guard.allow("status of 401")  # the refused sign-in's page answers 401, which Chromium logs
    await page.goto("/signin")

    async def tab_to(element_id: str) -> None:
        for _ in range(15):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}")

    await tab_to("email")
    await page.keyboard.type(user["email"])
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "password"
    await page.keyboard.type("a wrong password here")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#error-summary")
    # The summary takes the focus, so a screen reader reads what went wrong first; the email is kept.
    assert await page.evaluate("document.activeElement.id") == "error-summary"
    assert (await page.title()).startswith("Error: ")
    assert await page.get_by_label("Email address").input_value() == user["email"]
    assert await page.get_by_label("Password").input_value() == ""
    await axe(page)

    await tab_to("password")
    await page.keyboard.type(user["password"])
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{stack.gateway}/")
    assert "Kofi Mensah" in await page.get_by_role("heading", level=1).inner_text()


async def test_a_reset_link_fills_the_code_and_leaves_the_address_bar(new_page: Any, stack: Stack,
                                                                      axe: Any) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway, headers={"x-forwarded-for": stack.new_client_ip()}) as http:
        user = await sign_up(http, stack)
    page = await new_page()
    await page.goto("/forgot-password")
    await axe(page)
    await page.get_by_label("Email address").fill(user["email"])
    await page.get_by_role("button", name="Send me a reset link").click()
    await page.wait_for_url(re.compile(r"notice=reset_sent$"))
    assert "If an account uses this address" in await page.get_by_role("status").inner_text()

    token = token_from(await stack.mail(user["email"], "Reset your Postifys password"))
    await page.goto(f"/reset-password#token={token}")
    await page.wait_for_function("!location.hash")
    assert "#token" not in page.url
    assert not await page.get_by_label("Reset code").is_visible()
    await axe(page)
    await page.get_by_label("New password").fill("a brand new sentence of mine")
    await page.get_by_role("button", name="Save the new password").click()
    await page.wait_for_url(re.compile(r"/signin\?notice=password_changed$"))


async def test_without_javascript_the_code_from_the_link_is_pasted(new_page: Any, stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway, headers={"x-forwarded-for": stack.new_client_ip()}) as http:
        user = await sign_up(http, stack, verified=False)
    page = await new_page(java_script=False)
    token = token_from(await stack.mail(user["email"], "Confirm your email"))
    await page.goto(f"/verify-email#token={token}")
    code = page.get_by_label("Confirmation code")
    assert await code.is_visible()  # (axe-core needs JavaScript: the page with it on is checked elsewhere)
    await code.fill(token)
    await page.get_by_role("button", name="Confirm my email address").click()
    await page.wait_for_url(re.compile(r"/signin\?notice=email_verified$"))


async def test_accounts_are_shown_and_one_is_disconnected_after_a_confirmation(signed_in: Any, axe: Any) -> None:
    page = signed_in
    member: BrowserMember = page.member
    await page.goto("/accounts")
    await axe(page)
    # The Page and its Instagram account may share a name; their platforms tell them apart.
    assert await page.get_by_role("heading", name="Acme Bakery", exact=True).count() >= 1
    for action in ("Connect Facebook", "Connect with Instagram", "Connect TikTok"):
        assert await page.get_by_role("link", name=action).count() == 1, action
    assert await page.locator("img.avatar").count() >= 1
    # Shown, not blocked: the page's CSP names the avatars' host (a violation would also fail the test).
    await page.wait_for_function("[...document.querySelectorAll('img.avatar')]"
                                 ".every(image => image.complete && image.naturalWidth > 0)")

    await page.get_by_role("link", name="Disconnect Acme Bakery (Facebook)").click()
    await page.wait_for_url(re.compile(rf"/accounts/{member.accounts['1029']}/disconnect$"))
    assert await page.get_by_role("heading", level=1).inner_text() == "Disconnect Acme Bakery (Facebook)?"
    await axe(page)
    await page.get_by_role("button", name="Disconnect Acme Bakery").click()
    await page.wait_for_url(re.compile(r"/accounts\?notice=disconnected$"))
    assert "The account is disconnected." in await page.get_by_role("status").inner_text()
    assert await page.get_by_role("link", name="Disconnect Acme Bakery (Facebook)").count() == 0


async def test_settings_and_the_deletion_confirmations(signed_in: Any, axe: Any) -> None:
    page = signed_in
    page.guard.allow("status of 422")
    page.guard.allow("status of 403")
    await page.goto("/settings")
    await axe(page)
    await page.get_by_label("Time zone").fill("Europe/Lisbon")
    await page.get_by_role("button", name="Save your profile").click()
    await page.wait_for_url(re.compile(r"notice=settings_saved$"))
    assert await page.get_by_label("Time zone").input_value() == "Europe/Lisbon"

    await page.get_by_role("navigation", name="Settings").get_by_role("link", name="Security").click()
    assert await page.get_by_role("cell", name=re.compile("This device")).count() == 1
    await page.get_by_label("Current password").fill("")
    await page.get_by_label("New password").fill("short")
    await page.get_by_role("button", name="Change the password").click()
    await page.wait_for_selector("#error-summary")
    assert "Enter your current password" in await page.locator("#error-summary").inner_text()
    await axe(page)

    await page.goto("/settings/data")
    await page.get_by_role("button", name="Review what is deleted…").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Delete your connected accounts?"
    assert await page.get_by_role("listitem").filter(has_text="Acme Bakery (Facebook)").count() == 1
    await axe(page)
    await page.get_by_role("link", name="Cancel").click()

    await page.get_by_role("link", name="Delete your account…").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Delete your Postifys account?"
    await page.get_by_label("Your password").fill("not my password at all")
    await page.get_by_label("Type your email address to confirm").fill(page.member.user["email"])
    await page.get_by_role("button", name="Delete my account").click()
    await page.wait_for_selector("#error-summary")
    assert "Your password is not right." in await page.locator("#error-summary").inner_text()
    await axe(page)


async def test_each_signed_out_page_and_its_errors_pass_axe(new_page: Any, axe: Any) -> None:
    page = await new_page()
    page.guard.allow("status of 422")
    for path in ("/", "/signin", "/signup", "/forgot-password", "/reset-password", "/verify-email",
                 "/verify-email/resend"):
        response = await page.goto(path)
        assert response.status == 200, path
        assert await page.get_by_role("heading", level=1).count() == 1, path
        await axe(page)
        submit = page.locator("main form button[type=submit]")
        if await submit.count():
            await submit.first.click()  # everything empty: the error summary and the fields' messages
            await page.wait_for_selector("#error-summary")
            await axe(page)
