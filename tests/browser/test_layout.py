"""The layout every page shares, in a real browser: landmarks, the message region, a clean console."""

from __future__ import annotations

from typing import Any


async def test_public_pages_are_accessible_and_clean(page: Any, axe: Any) -> None:
    for path in ("/privacy", "/privacy/deletion-instructions"):
        response = await page.goto(path)
        assert response.status == 200
        await axe(page)


async def test_a_csp_violation_is_caught(page: Any) -> None:
    await page.goto("/privacy")
    await page.evaluate("""() => { const s = document.createElement('script'); s.textContent = '1';
                                   document.body.append(s); }""")
    await page.wait_for_function("true")
    assert any("CSP violation" in p for p in page.guard.problems), page.guard.problems
    page.guard.problems.clear()
