"""Which service answers which public path, and which API paths need no session."""

from __future__ import annotations

from shared.settings import PostifysSettings

API_PREFIX = "/api/v1"

# (public path prefix, service)
ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/v1/auth/", "identity"),
    ("/api/v1/me", "identity"),
    ("/api/v1/connections/", "connector"),
    ("/api/v1/accounts", "connector"),
    ("/api/v1/posts", "publisher"),
    ("/api/v1/privacy/", "privacy"),
    ("/api/v1/media", "media"),
    ("/webhooks/", "webhooks"),
    ("/privacy/meta/", "privacy"),
    ("/privacy/deletion/", "privacy"),
    ("/media/files/", "media"),
)

# Reached by people who are not signed in (yet). The service answers wrong methods itself.
PUBLIC_API = frozenset({
    "/api/v1/auth/signup",
    "/api/v1/auth/login",
    "/api/v1/auth/verify-email",
    "/api/v1/auth/resend-verification",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
})

# Platforms call these server to server: no session, no browser origin to check. (They fetch media in bursts too.)
CROSS_SITE_ALLOWED = ("/webhooks/", "/privacy/meta/", "/media/files/")

SERVICES = ("identity", "connector", "publisher", "webhooks", "privacy", "media")

# Uploads: their bodies stream through to the media service (which holds the limits per type) and are never read
# whole here; this is only the ceiling above which the gateway refuses at once.
UPLOAD_MAX_BYTES = 4 * 1024 * 1024 * 1024


def streams_body(method: str, path: str) -> bool:
    return (method == "POST" and path == "/api/v1/media") or (
        method == "PATCH" and path.startswith("/api/v1/media/uploads/"))


def service_for(path: str) -> str | None:
    for prefix, service in ROUTES:
        base = prefix.rstrip("/")
        if path == base or path.startswith(base + "/"):
            return service
    return None


def needs_session(path: str) -> bool:
    return path.startswith(API_PREFIX + "/") and path not in PUBLIC_API


def service_url(settings: PostifysSettings, service: str) -> str:
    return str(getattr(settings, f"{service}_url"))
