"""Every page of the web app in a real browser: the layout's landmarks, axe-core, a phone's width, the headers.

The guard of tests/browser/conftest.py fails each test on any console error or CSP violation on these pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.browser.conftest import BrowserMember
from tests.e2e.publishing_support import media_url
from tests.support import Stack

SIGNED_OUT = ["/", "/signin", "/signup", "/forgot-password", "/reset-password", "/verify-email", "/privacy",
              "/privacy/deletion-instructions"]
PHONE = {"width": 375, "height": 740}
SETTINGS = ["/settings", "/settings/security", "/settings/notifications", "/settings/data"]


async def signed_in_paths(member: BrowserMember, stack: Stack) -> list[str]:
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    created = await member.http.post("/api/v1/posts", json={
        "caption": "Fresh sourdough every morning #bakery", "scheduled_at": due.isoformat(),
        "media": [{"url": media_url(stack, "sample-bread.jpg"), "type": "image", "alt_text": "A loaf on the counter"}],
        "targets": [{"account_id": member.accounts["1029"]}]})
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    return ["/", "/compose", f"/compose?post={post_id}", "/calendar", "/calendar?view=week", "/posts",
            f"/posts/{post_id}", "/accounts", f"/accounts/{member.accounts['1029']}/disconnect", *SETTINGS,
            "/settings/delete-connections", "/settings/delete-account"]


async def check_layout(page: Any, *, signed_in: bool) -> None:
    assert await page.locator("meta[name=viewport]").count() == 1
    assert await page.get_by_role("main").count() == 1
    assert await page.get_by_role("status").count() >= 1
    assert await page.get_by_role("heading", level=1).count() == 1
    nav = page.get_by_role("navigation", name="Main")
    if signed_in:
        for name in ("Compose", "Calendar", "Posts", "Accounts", "Mira Okafor"):
            assert await nav.get_by_role("link", name=name, exact=True).count() == 1 or \
                await page.get_by_role("link", name=name, exact=True).count() >= 1, name


async def fits_a_phone(page: Any) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


async def test_every_signed_out_page(new_page: Any, axe: Any) -> None:
    page = await new_page()
    phone = await new_page(viewport=PHONE)
    for path in SIGNED_OUT:
        response = await page.goto(path)
        assert response.status == 200, path
        await check_layout(page, signed_in=False)
        await axe(page)
        await phone.goto(path)
        assert await fits_a_phone(phone), f"{path} scrolls sideways at 375 px"


async def test_every_signed_in_page(new_page: Any, member: BrowserMember, axe: Any, stack: Stack) -> None:
    page = await new_page(cookies=member.cookies)
    phone = await new_page(cookies=member.cookies, viewport=PHONE)
    for path in await signed_in_paths(member, stack):
        response = await page.goto(path)
        assert response.status == 200, path
        headers = await response.all_headers()
        assert headers["cache-control"] == "no-store", path
        policy = headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "base-uri 'none'",
                          "object-src 'none'", "frame-ancestors 'none'"):
            assert directive in policy, (path, directive)
        assert "unsafe-inline" not in policy
        # Our own origin on our forms' posts, nothing at all to other sites.
        assert headers["referrer-policy"] == "same-origin"
        assert "unsafe-eval" not in policy
        await check_layout(page, signed_in=True)
        await axe(page)
        await phone.goto(path)
        assert await fits_a_phone(phone), f"{path} scrolls sideways at 375 px"


@pytest.mark.parametrize("path", ["/compose", "/calendar", "/posts", "/accounts", *SETTINGS])
async def test_signed_in_pages_send_a_stranger_to_sign_in(stack: Stack, path: str) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway) as http:
        response = await http.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
