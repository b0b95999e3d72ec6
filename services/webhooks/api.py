"""The only door platform webhooks come through (via the gateway, which adds the caller's address)."""

from __future__ import annotations

import hmac
import ipaddress
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from services.webhooks.export import export_about
from services.webhooks.service import WebhookService
from services.webhooks.signatures import Rejected
from shared.contracts.export import WebhooksExport
from shared.errors import ERROR_RESPONSES, BadRequest, Forbidden, NotFound, error_body
from shared.internal import CLIENT_IP_HEADER, callers


class DeliveryOut(BaseModel):
    id: uuid.UUID
    provider: str
    received_at: datetime
    source_ip: str | None
    status: str
    reason: str | None
    event_types: list[str]


class Replayed(BaseModel):
    events: int


def ip_or_none(value: str | None) -> str | None:
    """The caller's address as the gateway saw it; anything that is not an address is not stored as one."""
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def build_routers(service: WebhookService) -> tuple[APIRouter, APIRouter]:
    public = APIRouter(prefix="/webhooks", responses=ERROR_RESPONSES, tags=["webhooks"])
    internal = APIRouter(prefix="/internal", include_in_schema=False)
    verify_token = service.settings.meta_webhook_verify_token

    async def take(provider: str, request: Request) -> Response:
        source_ip = ip_or_none(request.headers.get(CLIENT_IP_HEADER))
        if "application/json" not in request.headers.get("content-type", ""):
            raise BadRequest("Webhooks are JSON.", code="unsupported_content_type")
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            service.verify(provider, body, headers, source_ip)
            first = await service.accept(provider, body, headers, source_ip)
        except Rejected as exc:
            return JSONResponse(error_body("webhook_rejected", exc.reason), status_code=exc.status)
        return JSONResponse({"status": "accepted" if first else "duplicate"})

    @public.get("/meta", response_class=PlainTextResponse)
    async def meta_handshake(mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
                             token: Annotated[str | None, Query(alias="hub.verify_token", max_length=512)] = None,
                             challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None,
                             ) -> PlainTextResponse:
        expected = verify_token.get_secret_value().encode()
        if mode != "subscribe" or challenge is None or not hmac.compare_digest((token or "").encode(), expected):
            raise Forbidden("The verification token does not match.", code="verification_failed")
        return PlainTextResponse(challenge)

    @public.post("/meta")
    async def meta(request: Request) -> Response:
        return await take("meta", request)

    @public.post("/tiktok")
    async def tiktok(request: Request) -> Response:
        return await take("tiktok", request)

    @internal.get("/deliveries", response_model=list[DeliveryOut])

    @callers("operator")
    async def deliveries(status: Annotated[str | None, Query(max_length=16)] = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[DeliveryOut]:
        return [DeliveryOut(id=d.id, provider=d.provider, received_at=d.received_at,
                            source_ip=str(d.source_ip) if d.source_ip else None, status=d.status, reason=d.reason,
                            event_types=d.event_types) for d in await service.recent(status, limit)]

    @internal.get("/deliveries/about", response_model=WebhooksExport)

    @callers("privacy")
    async def about(subject: Annotated[list[str], Query(max_length=500)]) -> WebhooksExport:
        """A person's platform events, for their data export: what was stored about their accounts."""
        return await export_about(service.runtime.sessionmaker, subject)

    @internal.post("/deliveries/{delivery_id}/replay", response_model=Replayed)

    @callers("operator")
    async def replay(delivery_id: uuid.UUID) -> Replayed:
        events = await service.replay(delivery_id)
        if not events:
            raise NotFound("No accepted delivery with this id.", code="delivery_not_found")
        return Replayed(events=events)

    return public, internal
