"""A user's data export: each owning service answers for its own data over internal HTTP, all at once, each part
is parsed into its model of shared.contracts.export, and the parts become one document. Each service decides which
of its fields leave, and privacy keeps only the fields its models name, so no token or hash ever reaches this one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlencode

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from shared.contracts.export import (
    AccountExport,
    ConnectionExport,
    ConnectorExport,
    DeletionRequestExport,
    IdentityExport,
    MediaExport,
    MediaItemExport,
    MediaUploadExport,
    PlatformDeliveryExport,
    PostExport,
    ProfileExport,
    PublisherExport,
    SessionExport,
    SignInExport,
    WebhooksExport,
)
from shared.errors import PostifysError
from shared.internal import REQUEST_ID_HEADER
from shared.settings import PostifysSettings

log = structlog.get_logger()

Part = TypeVar("Part", bound=BaseModel)
DeletionRequestsFor = Callable[[uuid.UUID], Awaitable[list[DeletionRequestExport]]]
# Below the gateway's upstream timeout, so the user gets this service's 503 rather than the gateway's.
PART_TIMEOUT = httpx.Timeout(20, connect=3)


class DataExport(BaseModel):
    """Everything Postifys holds about the person, tokens excepted."""

    exported_at: datetime
    profile: ProfileExport
    sessions: list[SessionExport]
    sign_in_history: list[SignInExport]
    connections: list[ConnectionExport]
    accounts: list[AccountExport]
    posts: list[PostExport]
    media: list[MediaItemExport]
    media_uploads: list[MediaUploadExport]
    platform_events: list[PlatformDeliveryExport]
    deletion_requests: list[DeletionRequestExport]


class ExportUnavailable(PostifysError):
    status_code = 503
    code = "export_unavailable"
    message = "Your data cannot be gathered right now. Try again shortly."


def export_http_client(auth: httpx.Auth) -> httpx.AsyncClient:
    """The one pooled client the privacy service asks the other services with, signing as privacy."""
    return httpx.AsyncClient(timeout=PART_TIMEOUT, follow_redirects=False, auth=auth,
                             limits=httpx.Limits(max_connections=50, max_keepalive_connections=10))


async def gather_export(http: httpx.AsyncClient, settings: PostifysSettings, user_id: uuid.UUID,
                        deletion_requests_for: DeletionRequestsFor, *, request_id: str | None = None) -> DataExport:
    headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
    identity, connector, publisher, media = await asyncio.gather(
        fetch_part(http, "identity", user_part_url(settings, "identity", user_id), headers, IdentityExport),
        fetch_part(http, "connector", user_part_url(settings, "connector", user_id), headers, ConnectorExport),
        fetch_part(http, "publisher", user_part_url(settings, "publisher", user_id), headers, PublisherExport),
        fetch_part(http, "media", user_part_url(settings, "media", user_id), headers, MediaExport))
    exported_at = datetime.now(UTC)
    webhooks = await platform_events(http, settings, headers, connector)
    return DataExport(exported_at=exported_at, profile=identity.profile, sessions=identity.sessions,
                      sign_in_history=identity.sign_in_history, connections=connector.connections,
                      accounts=connector.accounts, posts=publisher.posts, media=media.media,
                      media_uploads=media.media_uploads, platform_events=webhooks.platform_events,
                      deletion_requests=await deletion_requests_for(user_id))


async def platform_events(http: httpx.AsyncClient, settings: PostifysSettings, headers: dict[str, str],
                          connector: ConnectorExport) -> WebhooksExport:
    """The webhooks the platforms sent about the person's accounts, found by the accounts' platform ids."""
    subjects = sorted({*(a.external_id for a in connector.accounts),
                       *(a.via_page_id for a in connector.accounts if a.via_page_id),
                       *(c.external_user_id for c in connector.connections)} - {""})
    if not subjects:
        return WebhooksExport(platform_events=[])
    url = f"{settings.webhooks_url}/internal/deliveries/about?" + urlencode([("subject", s) for s in subjects])
    return await fetch_part(http, "webhooks", url, headers, WebhooksExport)


async def fetch_part(http: httpx.AsyncClient, service: str, url: str, headers: dict[str, str],
                     model: type[Part]) -> Part:
    try:
        response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("Export part unreachable", service=service, error=type(exc).__name__)
        raise unavailable(service) from None
    if response.status_code != 200:
        log.warning("Export part refused", service=service, status=response.status_code)
        raise unavailable(service)
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        # The error count only: the messages would repeat the values, and a part is the person's data.
        log.warning("Export part malformed", service=service, errors=exc.error_count())
        raise unavailable(service) from None


def unavailable(service: str) -> ExportUnavailable:
    return ExportUnavailable(details={"service": service})


def user_part_url(settings: PostifysSettings, service: str, user_id: uuid.UUID) -> str:
    return f"{settings.service_urls()[service]}/internal/users/{user_id}/export"
