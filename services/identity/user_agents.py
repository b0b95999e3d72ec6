"""A browser's User-Agent header in words a person recognises ("Chrome on macOS"), for the session list and the
sign-in history. Pure and small on purpose: it names the common browsers and systems, and says "Unknown browser"
rather than guess at the rest; the full header stays beside it."""

from __future__ import annotations

import re

# Order matters: Edge, Opera and Samsung Internet also say "Chrome" and "Safari"; Chrome also says "Safari".
BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"\b(?:Edg|EdgA|EdgiOS|Edge)/")),
    ("Opera", re.compile(r"\b(?:OPR|OPiOS|Opera)/")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(?:HeadlessChrome|Chrome|CriOS|Chromium)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/|\bAppleWebKit/.*\b(?:iPhone|iPad)")),
    ("curl", re.compile(r"^curl/")),
    ("a script (Python)", re.compile(r"^(?:python-httpx|python-requests|Python-urllib|aiohttp)/")),
)

SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iPadOS", re.compile(r"\biPad\b")),
    ("iOS", re.compile(r"\b(?:iPhone|iPod)\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)


def browser_name(user_agent: str | None) -> str | None:
    if user_agent:
        for name, pattern in BROWSERS:
            if pattern.search(user_agent):
                return name
    return None


def system_name(user_agent: str | None) -> str | None:
    if user_agent:
        for name, pattern in SYSTEMS:
            if pattern.search(user_agent):
                return name
    return None


def describe(user_agent: str | None) -> str:
    """"Chrome on macOS", "Firefox", "Unknown browser on Android", "Unknown browser"."""
    browser, system = browser_name(user_agent), system_name(user_agent)
    if browser is None and system is None:
        return "Unknown browser"
    return f"{browser or 'Unknown browser'} on {system}" if system else str(browser)
