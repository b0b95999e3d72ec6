"""Helpers of the browser tests: the accessibility check and the README's screenshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def check_accessibility(page: Any, *, allow: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Runs axe-core on the page as it is now; fails on any serious or critical violation."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical") and v["id"] not in allow]
    assert not bad, f"axe-core on {page.url}:\n" + json.dumps(
        [{"id": v["id"], "impact": v["impact"], "help": v["help"],
          "nodes": [n["target"] for n in v["nodes"]][:5]} for v in bad], indent=1)
    return list(result["violations"])


async def screenshot(page: Any, name: str) -> Path:
    """Written by the test run for the README (docs/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
