"""A user's data export: each owning service answers for its own data over internal HTTP, all at once,
and the parts become one document. Each service decides which of its fields leave, so no token or hash
ever reaches this one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog

from shared.errors import PostifysError
from shared.internal import REQUEST_ID_HEADER
from shared.settings import PostifysSettings

log = structlog.get_logger()

# Which keys of the document each service answers for.
PARTS: dict[str, tuple[str, ...]] = {
    "identity": ("profile", "sessions", "sign_in_history"),
    "connector": ("connections", "accounts"),
    "publisher": ("posts",),
}
WEBHOOK_PART = ("platform_events",)
# Below the gateway's upstream timeout, so the user gets this service's 503 rather than the gateway's.
PART_TIMEOUT = httpx.Timeout(20, connect=3)


class ExportUnavailable(PostifysError):
    status_code = 503
    code = "export_unavailable"
    message = "Your data cannot be gathered right now. Try again shortly."


def export_http_client(auth: httpx.Auth) -> httpx.AsyncClient:
    """The one pooled client the privacy service asks the other services with, signing as privacy."""
    return httpx.AsyncClient(timeout=PART_TIMEOUT, follow_redirects=False, auth=auth,
                             limits=httpx.Limits(max_connections=50, max_keepalive_connections=10))


async def gather_export(http: httpx.AsyncClient, settings: PostifysSettings, user_id: uuid.UUID, *,
                        request_id: str | None = None) -> dict[str, Any]:
    """The export without the privacy service's own data: "deletion_requests" is left empty for the caller."""
    headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
    parts = await asyncio.gather(*(
        fetch_part(http, service, f"{service_url(settings, service)}/internal/users/{user_id}/export", headers)
        for service in PARTS))
    document: dict[str, Any] = {"exported_at": datetime.now(UTC)}
    for part in parts:
        document.update(part)
    document["platform_events"] = await platform_events(http, settings, headers, document)
    document["deletion_requests"] = []
    return document


async def platform_events(http: httpx.AsyncClient, settings: PostifysSettings, headers: dict[str, str],
                          document: dict[str, Any]) -> list[dict[str, Any]]:
    """The webhooks the platforms sent about the person's accounts, found by the accounts' platform ids."""
    subjects = sorted({*(a.get("external_id") for a in document["accounts"]),
                       *(a.get("via_page_id") for a in document["accounts"]),
                       *(c.get("external_user_id") for c in document["connections"])} - {None, ""})
    if not subjects:
        return []
    url = f"{settings.webhooks_url}/internal/deliveries/about?" + urlencode([("subject", s) for s in subjects])
    part = await fetch_part(http, "webhooks", url, headers, keys=WEBHOOK_PART)
    return list(part["platform_events"])


async def fetch_part(http: httpx.AsyncClient, service: str, url: str, headers: dict[str, str],
                     keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    try:
        response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("Export part unreachable", service=service, error=type(exc).__name__)
        raise unavailable(service) from None
    if response.status_code != 200:
        log.warning("Export part refused", service=service, status=response.status_code)
        raise unavailable(service)
    try:
        body = response.json()
        return {key: body[key] for key in keys or PARTS[service]}
    except (ValueError, KeyError, TypeError):
        log.warning("Export part malformed", service=service)
        raise unavailable(service) from None


def unavailable(service: str) -> ExportUnavailable:
    return ExportUnavailable(details={"service": service})


def service_url(settings: PostifysSettings, service: str) -> str:
    return str(getattr(settings, f"{service}_url"))
