"""Steps the composer's browser tests share: finding the accounts, the TikTok panel, keyboard moves."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.browser.conftest import BrowserMember
from tests.support import Stack

TIKTOK, PAGE, IG = "-000abc", "1029", "178414"


def sandbox_media(stack: Stack, name: str, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media/{name}" + (f"?{query}" if query else "")


def panel(page: Any, name: str) -> Any:
    """An account's settings: the group named after the account."""
    return page.get_by_role("group", name=name, exact=True)


async def open_composer(page: Any) -> None:
    response = await page.goto("/compose")
    assert response.status == 200


async def stub_post_page_when_missing(page: Any, member: BrowserMember) -> None:
    """The post page is another screen; until it exists, the redirect to it lands on a stand-in instead of a 404
    (which the browser would report as a console error)."""
    probe = await member.http.get(f"/posts/{uuid.uuid4()}")
    if probe.headers.get("content-type", "").startswith("text/html"):
        return

    async def stand_in(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html",
                            body="<!doctype html><html lang=en><title>Post</title><main>Post</main></html>")

    await page.route(re.compile(r"/posts/[0-9a-f-]{36}(\?.*)?$"), stand_in)


async def tab_to(page: Any, selector: str, *, most: int = 200, backwards: bool = False) -> None:
    """Presses Tab until the element matching `selector` has the focus."""
    for _ in range(most):
        if await page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        await page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def posts_of(member: BrowserMember) -> list[dict[str, Any]]:
    return list((await member.http.get("/api/v1/posts")).json()["items"])
