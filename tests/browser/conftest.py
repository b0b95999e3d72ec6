"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium; `playwright install` downloads and is
never used). Every page a test opens fails it on a console error, an uncaught exception or a CSP violation.

Without Chromium the tests are skipped with a loud message; under CI (CI=true) a missing browser is an error."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import AXE, check_accessibility
from tests.support import Stack, connect, sandbox, sign_in, sign_up

CHROMIUM = os.environ.get("POSTIFYS_CHROMIUM", "/usr/bin/chromium")
# The probe's flags: no sandbox as root, and no background connections to a network this machine does not have.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _missing() -> str | None:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (make test installs Debian's chromium when it can)"
    if not AXE.exists():
        return f"axe-core is not installed at {AXE} (make test runs npm ci in tests/browser)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _missing()
    if missing is None:
        return
    browser_items = [i for i in items if "tests/browser/" in str(i.path)]
    if not browser_items:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"BROWSER TESTS CANNOT RUN IN CI: {missing}")
    banner = f"\n{'!' * 78}\n!! SKIPPING {len(browser_items)} BROWSER TESTS: {missing}\n{'!' * 78}\n"
    print(banner)  # noqa: T201
    warnings.warn(banner, stacklevel=1)
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=f"BROWSER TESTS SKIPPED: {missing}"))


@dataclass
class PageGuard:
    """What went wrong in the browser while a test ran: console errors, page errors, CSP violations."""

    problems: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, fragment: str) -> None:
        """A console error the test provokes on purpose (say, a refused form answering 422)."""
        self.allowed.append(fragment)

    def add(self, problem: str) -> None:
        if not any(fragment in problem for fragment in self.allowed):
            self.problems.append(problem)


# Runs before any of the page's own scripts, and outside its CSP: reports every violation to the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                + ` at ${event.sourceFile || location.href}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def new_page(browser: Any, stack: Stack) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Opens guarded pages in fresh browser contexts (each its own cookie jar); checked when the test ends."""
    contexts: list[Any] = []
    guards: list[PageGuard] = []

    async def open_page(*, timezone: str = "UTC", java_script: bool = True, viewport: dict[str, int] | None = None,
                        cookies: list[dict[str, Any]] | None = None) -> Any:
        # Each browser is a person of their own address (127.0.0.1 is the tests' trusted proxy), as in life:
        # otherwise every test would draw on one address's rate limit.
        context = await browser.new_context(base_url=stack.gateway, timezone_id=timezone,
                                            java_script_enabled=java_script, locale="en-GB",
                                            viewport=viewport or {"width": 1280, "height": 900},
                                            extra_http_headers={"x-forwarded-for": stack.new_client_ip()})
        contexts.append(context)
        if cookies:
            await context.add_cookies(cookies)
        await context.add_init_script(CSP_LISTENER)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        guard = PageGuard()
        guards.append(guard)
        page.guard = guard

        def on_console(message: Any) -> None:
            # Only our pages are judged: the sandbox's consent pages stand in for the platforms' own.
            if message.type == "error" and page.url.startswith(stack.gateway):
                source = (message.location or {}).get("url") or ""
                guard.add(f"console error on {page.url}: {message.text} [{source}]")

        page.on("console", on_console)
        page.on("pageerror", lambda error: page.url.startswith(stack.gateway)
                and guard.add(f"uncaught exception on {page.url}: {error}"))
        return page

    yield open_page
    problems = [p for g in guards for p in g.problems]
    for context in contexts:
        await context.close()
    assert not problems, "the browser reported:\n" + "\n".join(problems)


@pytest.fixture
async def page(new_page: Callable[..., Awaitable[Any]]) -> Any:
    return await new_page()


@dataclass
class BrowserMember:
    """A verified person with Facebook, Instagram and TikTok connected, and their API client."""

    http: httpx.AsyncClient
    user: dict[str, Any]
    accounts: dict[str, str]
    cookies: list[dict[str, Any]]


@pytest.fixture
async def member(stack: Stack) -> AsyncIterator[BrowserMember]:
    await sandbox(stack, "POST", "/_sandbox/reset")
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30,
                                 headers={"x-forwarded-for": stack.new_client_ip()}) as http:
        user = await sign_up(http, stack, name="Mira Okafor")
        assert (await sign_in(http, user)).status_code == 200
        for provider in ("facebook", "instagram", "tiktok"):
            await connect(http, stack, provider)
        listed = (await http.get("/api/v1/accounts")).json()["items"]
        host = httpx.URL(stack.gateway).host
        cookies = [{"name": c.name, "value": c.value or "", "domain": host, "path": "/", "httpOnly": True,
                    "sameSite": "Lax"} for c in http.cookies.jar]
        yield BrowserMember(http=http, user=user, accounts={a["external_id"]: a["id"] for a in listed},
                            cookies=cookies)


@pytest.fixture
async def signed_in(new_page: Callable[..., Awaitable[Any]], member: BrowserMember) -> Any:
    """A page whose browser is signed in as `member`."""
    page = await new_page(cookies=member.cookies)
    page.member = member
    return page


@pytest.fixture
def axe() -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    return check_accessibility
