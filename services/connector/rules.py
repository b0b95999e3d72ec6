"""What each platform is asked for, and when a connected account can be published to. Pure rules."""

from __future__ import annotations

from collections.abc import Iterable

PROVIDERS = ("facebook", "instagram", "tiktok")

REQUESTED_SCOPES = {
    "facebook": ["pages_show_list", "pages_manage_posts", "pages_read_engagement", "instagram_basic",
                 "instagram_content_publish"],
    "instagram": ["instagram_business_basic", "instagram_business_content_publish"],
    "tiktok": ["user.info.basic", "user.info.profile", "video.publish", "video.upload"],
}

REQUIRED_SCOPES = {
    "facebook_page": ("pages_show_list", "pages_manage_posts", "pages_read_engagement"),
    "instagram_via_facebook": ("pages_show_list", "instagram_basic", "instagram_content_publish"),
    "instagram_login": ("instagram_business_basic", "instagram_business_content_publish"),
    "tiktok": ("user.info.basic",),
}

ACTIVE = "active"
REAUTH_REQUIRED = "reauth_required"
DISCONNECTED = "disconnected"

PLATFORM_NAMES = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok"}


def login_provider(kind: str, platform: str, via_page_id: str | None) -> str:
    """Which login (and so which API host and token) reaches this account."""
    return "facebook" if kind == "facebook_page" or via_page_id else platform


def unpublishable_reason(*, kind: str, provider: str, status: str, tasks: Iterable[str],
                         granted: Iterable[str]) -> str | None:
    """Why Postifys cannot publish to this account, in words for its owner; None when it can."""
    if status == DISCONNECTED:
        return "This account is disconnected. Connect it again to publish to it."
    if status == REAUTH_REQUIRED:
        return f"{PLATFORM_NAMES[provider]} no longer accepts Postifys' authorization. Reconnect this account."
    granted = set(granted)
    through_page = kind == "facebook_page" or (kind == "instagram" and provider == "facebook")
    if through_page and "CREATE_CONTENT" not in set(tasks):
        return "Your role on this Facebook Page does not allow creating content (the CREATE_CONTENT task)."
    rule = {"facebook_page": "facebook_page", "tiktok": "tiktok"}.get(
        kind, "instagram_via_facebook" if provider == "facebook" else "instagram_login")
    missing = [scope for scope in REQUIRED_SCOPES[rule] if scope not in granted]
    if kind == "tiktok" and not granted & {"video.publish", "video.upload"}:
        missing.append("video.publish or video.upload")
    if missing:
        return (f"The permission {', '.join(missing)} was not granted. Reconnect and allow it to publish here.")
    return None
