"""A local stand-in for the Facebook, Instagram and TikTok APIs: one process, every platform host under a prefix."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

HOST_PREFIXES = {
    "POSTIFYS_FACEBOOK_WWW_URL": "/facebook-www",
    "POSTIFYS_FACEBOOK_GRAPH_URL": "/facebook-graph",
    "POSTIFYS_INSTAGRAM_WWW_URL": "/instagram-www",
    "POSTIFYS_INSTAGRAM_API_URL": "/instagram-api",
    "POSTIFYS_INSTAGRAM_GRAPH_URL": "/instagram-graph",
    "POSTIFYS_TIKTOK_WWW_URL": "/tiktok-www",
    "POSTIFYS_TIKTOK_API_URL": "/tiktok-api",
}


def base_urls(sandbox_url: str) -> dict[str, str]:
    """The environment that points every platform base URL into a sandbox listening at `sandbox_url`."""
    root = sandbox_url.rstrip("/")
    return {variable: f"{root}{prefix}" for variable, prefix in HOST_PREFIXES.items()}


def media_host_environment(sandbox_url: str) -> dict[str, str]:
    """What the publisher needs to download media from a sandbox on this machine: private addresses allowed
    explicitly, and the sandbox's port besides 80 and 443."""
    port = urlsplit(sandbox_url).port or 80
    return {"POSTIFYS_ALLOW_PRIVATE_MEDIA_URLS": "1", "POSTIFYS_MEDIA_URL_PORTS": json.dumps(sorted({80, 443, port}))}
