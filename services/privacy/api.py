"""Privacy's HTTP doors: people asking for deletion (signed in), Meta's two callbacks, and the public status page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, model_validator

from services.privacy.service import MetaCallback, PrivacyService
from services.privacy.signed_request import InvalidSignedRequest
from services.privacy.tables import DeletionRequest
from shared.errors import ERROR_RESPONSES, BadRequest, NotFound, PostifysError, error_body
from shared.http.callers import CallerDep
from shared.internal import CLIENT_IP_HEADER, REQUEST_ID_HEADER, Caller
from shared.validation import StrictModel

MAX_CALLBACK_BODY = 8192


class DeletionRequestIn(StrictModel):
    scope: Literal["account", "connections"]
    account_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=100)
    password: str | None = Field(None, min_length=1, max_length=512)

    @model_validator(mode="after")
    def _coherent(self) -> DeletionRequestIn:
        if self.scope == "account" and not self.password:
            raise ValueError("Deleting the account needs your password.")
        if self.scope == "account" and self.account_ids is not None:
            raise ValueError("account_ids only applies to the 'connections' scope.")
        return self


class StepOut(BaseModel):
    service: str
    status: str
    done_at: datetime | None
    erased: dict[str, int]


class DeletionRequestOut(BaseModel):
    id: uuid.UUID
    confirmation_code: str
    scope: str
    status: str
    requested_at: datetime
    completed_at: datetime | None
    status_url: str
    steps: list[StepOut]


class DeletionRequestList(BaseModel):
    items: list[DeletionRequestOut]


class MetaDeletionOut(BaseModel):
    url: str
    confirmation_code: str


def invalid(exc: InvalidSignedRequest) -> BadRequest:
    return BadRequest("The signed_request is not valid.", code="invalid_signed_request",
                      details={"reason": exc.reason})


def build_routers(service: PrivacyService, http: Callable[[], httpx.AsyncClient]) -> list[APIRouter]:
    settings = service.settings
    api = APIRouter(prefix="/api/v1/privacy", responses=ERROR_RESPONSES, tags=["privacy"])
    public = APIRouter(prefix="/privacy", responses=ERROR_RESPONSES, tags=["privacy"])

    def status_url(code: str) -> str:
        return f"{settings.public_url}/privacy/deletion/{code}"

    async def describe(request: DeletionRequest) -> DeletionRequestOut:
        steps = await service.steps(request.id)
        return DeletionRequestOut(
            id=request.id, confirmation_code=request.confirmation_code, scope=request.scope, status=request.status,
            requested_at=request.requested_at, completed_at=request.completed_at,
            status_url=status_url(request.confirmation_code),
            steps=[StepOut(service=s.service, status=s.status, done_at=s.done_at, erased=s.erased) for s in steps])

    async def confirm_password_and_sign_out(caller: Caller, password: str, request: Request) -> None:
        """Deleting an account ends its sessions at once, before the saga even starts."""
        headers = {REQUEST_ID_HEADER: getattr(request.state, "request_id", "") or "",
                   CLIENT_IP_HEADER: request.headers.get(CLIENT_IP_HEADER, ""),
                   "user-agent": request.headers.get("user-agent", "")}
        try:
            answer = await http().post(f"{settings.identity_url}/internal/users/{caller.user_id}/confirm-password",
                                       json={"password": password, "end_sessions": True}, headers=headers)
        except httpx.HTTPError:
            raise PostifysError("Your password cannot be checked just now. Try again shortly.",
                                code="service_unavailable", status_code=503) from None
        if answer.status_code != 204:
            problem = answer.json().get("error", {}) if answer.headers.get("content-type", "").startswith(
                "application/json") else {}
            raise PostifysError(problem.get("message", "The password could not be confirmed."),
                                code=problem.get("code", "wrong_password"),
                                status_code=answer.status_code if answer.status_code < 500 else 503)

    @api.post("/deletion-requests", status_code=202, response_model=DeletionRequestOut)
    async def ask_for_deletion(body: DeletionRequestIn, caller: CallerDep, request: Request) -> DeletionRequestOut:
        """Delete the whole account (`scope: account`, with your password) or connected accounts and their data
        (`scope: connections`, all or the `account_ids` given). Work continues in the background: follow
        `status_url` or GET the request."""
        if body.scope == "account":
            await confirm_password_and_sign_out(caller, body.password or "", request)
        created = await service.request_for_user(caller.user_id, body.scope, body.account_ids)
        return await describe(created)

    @api.get("/deletion-requests", response_model=DeletionRequestList)
    async def my_deletion_requests(caller: CallerDep) -> DeletionRequestList:
        return DeletionRequestList(items=[await describe(r) for r in await service.for_user(caller.user_id)])

    @api.get("/deletion-requests/{request_id}", response_model=DeletionRequestOut)
    async def deletion_request(request_id: uuid.UUID, caller: CallerDep) -> DeletionRequestOut:
        found = await service.for_user(caller.user_id, request_id)
        if not found:
            raise NotFound("No deletion request of yours has this id.", code="deletion_request_not_found")
        return await describe(found[0])

    async def callback_from(request: Request) -> MetaCallback | JSONResponse:
        body = await request.body()
        if len(body) > MAX_CALLBACK_BODY:
            return JSONResponse(error_body("payload_too_large", "The body is too large."), status_code=413)
        try:
            values = parse_qs(body.decode("latin-1"), max_num_fields=10).get("signed_request") or []
        except ValueError:
            values = []
        if len(values) != 1:
            raise BadRequest("Send one signed_request form field.", code="invalid_signed_request")
        try:
            return service.meta_callback(values[0])
        except InvalidSignedRequest as exc:
            raise invalid(exc) from None

    @public.post("/meta/data-deletion", response_model=MetaDeletionOut)
    async def meta_data_deletion(request: Request) -> MetaDeletionOut | JSONResponse:
        """Meta's Data Deletion Request Callback: starts deleting everything tied to the app-scoped user id. The
        same signed request again, even after it is too old to start one, answers the same confirmation code."""
        callback = await callback_from(request)
        if isinstance(callback, JSONResponse):
            return callback
        try:
            created = await service.request_from_meta(callback)
        except InvalidSignedRequest as exc:
            raise invalid(exc) from None
        return MetaDeletionOut(url=status_url(created.confirmation_code), confirmation_code=created.confirmation_code)

    @public.post("/meta/deauthorize")
    async def meta_deauthorize(request: Request) -> Response:
        """Meta's Deauthorize Callback: the person's Facebook and Instagram connections are revoked. The same signed
        request again, even after it is too old to start one, answers the same and changes nothing more."""
        callback = await callback_from(request)
        if isinstance(callback, JSONResponse):
            return callback
        try:
            await service.meta_deauthorized(callback)
        except InvalidSignedRequest as exc:
            raise invalid(exc) from None
        return JSONResponse({})

    @public.get("/deletion/{code}", response_model=DeletionRequestOut)
    async def deletion_status(code: Annotated[str, Path(max_length=64)], request: Request) -> Response:
        """The status of a deletion, for the person who asked or for Meta (the gateway shows it to browsers as a page
        of the web app)."""
        found = await service.by_code(code) if code.isalnum() else None
        if found is None:
            raise NotFound("No deletion request has this confirmation code.", code="deletion_request_not_found")
        return JSONResponse((await describe(found)).model_dump(mode="json"))

    return [api, public]
