"""HTTP entry points of the connector. Public ones come through the gateway; /internal ones are for
other services (the publisher) and need the internal secret like everything here."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from services.connector import rules
from services.connector.export import export_user
from services.connector.service import ConnectorService
from services.connector.tables import Account, Connection
from shared.contracts.connector import AccountDetail, AccountOut, AccountStatusOut, Permissions, TokenOut
from shared.contracts.export import ConnectorExport
from shared.errors import ERROR_RESPONSES, NotFound
from shared.http.callers import CallerDep, VerifiedDep
from shared.internal import callers
from shared.validation import StrictModel, Text

OptionalText = Annotated[Text | None, Query(max_length=2048)]


class AccountList(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None = None


class PublishingOptions(BaseModel):
    platform: str
    tiktok: dict[str, Any] | None = None
    instagram: dict[str, Any] | None = None
    facebook: dict[str, Any] | None = None


class CallerIn(StrictModel):
    user_id: uuid.UUID


class TokenRejectedIn(CallerIn):
    # The fingerprint (shared/token_fingerprint.py) of the token the platform refused, never the token.
    rejected: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


def describe(account: Account, connection: Connection) -> AccountDetail:
    reason = rules.unpublishable_reason(kind=account.kind, provider=connection.provider, status=account.status,
                                        tasks=account.tasks, granted=connection.granted_scopes)
    return AccountDetail(
        id=account.id, platform=account.platform, kind=account.kind, external_id=account.external_id,
        name=account.name, username=account.username, avatar_url=account.avatar_url, category=account.category,
        tasks=account.tasks,
        permissions=Permissions(granted=connection.granted_scopes, declined=connection.declined_scopes),
        status=account.status, publishable=reason is None, unpublishable_reason=reason,
        connected_at=account.connected_at, updated_at=account.updated_at, via_page_id=account.via_page_id,
        provider=connection.provider)


def provider_of(provider: str) -> str:
    if provider not in rules.PROVIDERS:
        raise NotFound(f"Unknown provider. Use one of: {', '.join(rules.PROVIDERS)}.", code="unknown_provider")
    return provider


ProviderDep = Annotated[str, Depends(provider_of)]


def build_routers(service: ConnectorService) -> tuple[APIRouter, APIRouter]:
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    internal = APIRouter(prefix="/internal", include_in_schema=False)

    @api.get("/connections/{provider}/start", status_code=302, response_class=RedirectResponse,
             tags=["connections"], responses={302: {"description": "To the platform's consent page"}})
    async def start(provider: ProviderDep, caller: VerifiedDep) -> RedirectResponse:
        return RedirectResponse(await service.start(caller, provider), status_code=302)

    @api.get("/connections/{provider}/callback", status_code=302, response_class=RedirectResponse,
             tags=["connections"], responses={302: {"description": "To the accounts page, with the outcome"}})
    async def callback(provider: ProviderDep, caller: VerifiedDep, state: OptionalText = None,
                       code: OptionalText = None, error: OptionalText = None) -> RedirectResponse:
        params = {k: v for k, v in {"state": state, "code": code, "error": error}.items() if v is not None}
        return RedirectResponse(await service.complete(caller, provider, params), status_code=302)

    @api.get("/accounts", response_model=AccountList, tags=["accounts"])
    async def list_accounts(caller: CallerDep) -> AccountList:
        return AccountList(items=[describe(a, c) for a, c in await service.list_accounts(caller.user_id)])

    @api.delete("/accounts/{account_id}", status_code=204, tags=["accounts"])
    async def disconnect(account_id: uuid.UUID, caller: CallerDep) -> Response:
        await service.disconnect(caller.user_id, account_id)
        return Response(status_code=204)

    @api.get("/accounts/{account_id}/publishing-options", response_model=PublishingOptions, tags=["accounts"])
    @callers("gateway", "publisher")
    async def publishing_options(account_id: uuid.UUID, caller: CallerDep) -> PublishingOptions:
        return PublishingOptions(**await service.publishing_options(caller.user_id, account_id))

    @internal.post("/accounts/{account_id}/access-token", response_model=TokenOut)

    @callers("publisher")
    async def access_token(account_id: uuid.UUID, body: CallerIn) -> TokenOut:
        issued = await service.access_token(body.user_id, account_id)
        account = issued.account
        return TokenOut(access_token=issued.access_token, expires_at=issued.expires_at, platform=account.platform,
                        kind=account.kind, external_id=account.external_id, via_page_id=account.via_page_id)

    @internal.post("/accounts/{account_id}/describe", response_model=AccountDetail)

    @callers("publisher")
    async def describe_account(account_id: uuid.UUID, body: CallerIn) -> AccountDetail:
        async with service.runtime.sessionmaker() as session:
            return describe(*await service.own_account(session, body.user_id, account_id))

    @internal.post("/accounts/{account_id}/token-rejected", response_model=AccountStatusOut)

    @callers("publisher")
    async def token_rejected(account_id: uuid.UUID, body: TokenRejectedIn) -> AccountStatusOut:
        account, token = await service.token_rejected(body.user_id, account_id, body.rejected)
        return AccountStatusOut(id=account.id, status=account.status, access_token=token)

    @internal.get("/users/{user_id}/export", response_model=ConnectorExport)

    @callers("privacy")
    async def export(user_id: uuid.UUID) -> ConnectorExport:
        return await export_user(service.runtime.sessionmaker, user_id)

    return api, internal
