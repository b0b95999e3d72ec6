"""A local stand-in for the Facebook, Instagram and TikTok APIs: one process, every platform host under a prefix."""

from __future__ import annotations

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
