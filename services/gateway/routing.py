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
    ("/webhooks/", "webhooks"),
    ("/privacy/meta/", "privacy"),
    ("/privacy/deletion/", "privacy"),
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

# Platforms call these server to server: no session, no browser origin to check.
CROSS_SITE_ALLOWED = ("/webhooks/", "/privacy/meta/")

SERVICES = ("identity", "connector", "publisher", "webhooks", "privacy")


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
