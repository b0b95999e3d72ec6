"""HTTP entry points of identity. Reached only through the gateway (internal secret required)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, BeforeValidator, EmailStr, Field

from services.identity.export import export_user
from services.identity.passwords import MAX_LENGTH, MIN_LENGTH
from services.identity.service import ClientInfo, IdentityService
from services.identity.tables import User
from shared.contracts.export import IdentityExport
from shared.errors import ERROR_RESPONSES, Unauthorized
from shared.http.callers import CallerDep
from shared.internal import CLIENT_IP_HEADER, callers
from shared.validation import StrictModel, text_problem

NewPassword = Annotated[str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH,
                                    description="At least 12 characters; common passwords are refused.")]


PersonName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
ZONE_NAME_LIMIT = 64
ZoneName = Annotated[str, Field(min_length=1, max_length=ZONE_NAME_LIMIT, examples=["Europe/Paris"])]


def _no_zone_if_no_name(value: Any) -> Any:
    """Text no zone name can be (empty, longer than any, not even storable) is a missing zone, not an error."""
    if isinstance(value, str) and (not 0 < len(value) <= ZONE_NAME_LIMIT or text_problem(value)):
        return None
    return value


BrowserZone = Annotated[str | None, BeforeValidator(_no_zone_if_no_name), Field(examples=["Europe/Paris"])]


class SignUpIn(StrictModel):
    name: PersonName
    email: EmailStr = Field(max_length=254)
    password: NewPassword
    timezone: BrowserZone = Field(
        default=None, description="The browser's IANA time zone (Intl.DateTimeFormat().resolvedOptions().timeZone). "
        "A default, not a choice: a name that is missing, empty, longer than 64 characters or not in the IANA "
        "database becomes UTC, without an error; PATCH /api/v1/me changes it.")


class MePatch(StrictModel):
    """Only the fields sent change."""

    name: PersonName | None = None
    timezone: ZoneName | None = Field(
        default=None, description="An IANA time zone name, such as Europe/Paris: every time is shown in it (and "
        "stored in UTC). A name not in the IANA database is refused with 422 timezone_unknown.")


class EmailIn(StrictModel):
    email: EmailStr = Field(max_length=254)


class TokenIn(StrictModel):
    token: str = Field(min_length=1, max_length=256)


class SignInIn(StrictModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=4096)


class ResetConfirmIn(StrictModel):
    token: str = Field(min_length=1, max_length=256)
    password: NewPassword


class PasswordChangeIn(StrictModel):
    current_password: str = Field(min_length=1, max_length=4096)
    new_password: NewPassword


class UserOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    email_verified: bool
    timezone: str = Field(description="The IANA time zone the person's times are shown in; UTC unless chosen.")


class SignUpOut(BaseModel):
    id: uuid.UUID
    email: str
    email_verified: Literal[False] = False
    message: str = "Check your inbox for a link to confirm your email address."


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str


class VerifiedOut(BaseModel):
    email_verified: Literal[True] = True


class SessionOut(BaseModel):
    id: uuid.UUID
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


class SessionList(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None = None


class ResolveIn(StrictModel):
    token: str = Field(min_length=1, max_length=256)


class PasswordConfirmIn(StrictModel):
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    end_sessions: bool = False


class ResolveOut(BaseModel):
    user_id: uuid.UUID
    session_id: uuid.UUID
    email_verified: bool
    name: str
    email: str
    timezone: str


RESET_ACCEPTED = "If an account uses this address, we have sent it a link to choose a new password."
RESEND_ACCEPTED = "If an unverified account uses this address, we have sent it a new confirmation link."


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, email=user.email, email_verified=user.email_verified_at is not None,
                   timezone=user.timezone)


def client_info(request: Request) -> ClientInfo:
    agent = request.headers.get("user-agent")
    return ClientInfo(ip=request.headers.get(CLIENT_IP_HEADER) or (request.client.host if request.client else None),
                      user_agent=agent[:512] if agent else None)


ClientDep = Annotated[ClientInfo, Depends(client_info)]


def build_routers(service: IdentityService) -> tuple[APIRouter, APIRouter]:
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    internal = APIRouter(prefix="/internal", include_in_schema=False)
    settings = service.settings

    @api.post("/auth/signup", status_code=status.HTTP_201_CREATED, response_model=SignUpOut, tags=["auth"])
    async def sign_up(body: SignUpIn, client: ClientDep) -> SignUpOut:
        user_id = await service.sign_up(name=body.name, email=body.email, password=body.password, client=client,
                                        timezone=body.timezone)
        return SignUpOut(id=user_id, email=body.email.strip().lower())

    @api.post("/auth/verify-email", response_model=VerifiedOut, tags=["auth"])
    async def verify_email(body: TokenIn) -> VerifiedOut:
        await service.verify_email(body.token)
        return VerifiedOut()

    @api.post("/auth/resend-verification", status_code=202, response_model=Accepted, tags=["auth"])
    async def resend_verification(body: EmailIn, client: ClientDep) -> Accepted:
        await service.resend_verification(email=body.email, client=client)
        return Accepted(message=RESEND_ACCEPTED)

    @api.post("/auth/login", response_model=UserOut, tags=["auth"])
    async def sign_in(body: SignInIn, client: ClientDep, response: Response) -> UserOut:
        signed_in = await service.sign_in(email=body.email, password=body.password, client=client)
        response.set_cookie(settings.session_cookie_name, signed_in.token, max_age=signed_in.max_age, path="/",
                            httponly=True, samesite="lax", secure=settings.is_production)
        return user_out(signed_in.user)

    @api.post("/auth/logout", status_code=204, tags=["auth"])
    async def sign_out(caller: CallerDep) -> Response:
        if caller.session_id:
            await service.sign_out(caller.session_id)
        response = Response(status_code=204)
        response.delete_cookie(settings.session_cookie_name, path="/", httponly=True, samesite="lax",
                               secure=settings.is_production)
        return response

    @api.get("/me", response_model=UserOut, tags=["auth"])
    async def me(caller: CallerDep) -> UserOut:
        return user_out(await service.get_user(caller.user_id))

    @api.patch("/me", response_model=UserOut, tags=["auth"])
    async def change_me(body: MePatch, caller: CallerDep) -> UserOut:
        return user_out(await service.update_profile(caller.user_id, name=body.name, timezone=body.timezone))

    @api.get("/auth/sessions", response_model=SessionList, tags=["auth"])
    async def list_sessions(caller: CallerDep) -> SessionList:
        sessions = await service.list_sessions(caller.user_id)
        return SessionList(items=[
            SessionOut(id=s.id, ip=str(s.ip) if s.ip else None, user_agent=s.user_agent, created_at=s.created_at,
                       last_seen_at=s.last_seen_at, expires_at=s.expires_at, current=s.id == caller.session_id)
            for s in sessions])

    @api.delete("/auth/sessions/{session_id}", status_code=204, tags=["auth"])
    async def revoke_session(session_id: uuid.UUID, caller: CallerDep) -> Response:
        await service.revoke_session(caller.user_id, session_id)
        return Response(status_code=204)

    @api.post("/auth/password-reset", status_code=202, response_model=Accepted, tags=["auth"])
    async def request_reset(body: EmailIn, client: ClientDep) -> Accepted:
        await service.request_password_reset(email=body.email, client=client)
        return Accepted(message=RESET_ACCEPTED)

    @api.post("/auth/password-reset/confirm", status_code=204, tags=["auth"])
    async def confirm_reset(body: ResetConfirmIn) -> Response:
        await service.confirm_password_reset(token=body.token, password=body.password)
        return Response(status_code=204)

    @api.post("/auth/password-change", status_code=204, tags=["auth"])
    async def change_password(body: PasswordChangeIn, caller: CallerDep, client: ClientDep) -> Response:
        await service.change_password(user_id=caller.user_id, session_id=caller.session_id,
                                      current_password=body.current_password, new_password=body.new_password,
                                      client=client)
        return Response(status_code=204)

    @internal.post("/sessions/resolve", response_model=ResolveOut)

    @callers("gateway")
    async def resolve(body: ResolveIn) -> ResolveOut:
        resolved = await service.resolve(body.token)
        if resolved is None:
            raise Unauthorized("Your session has ended. Sign in again.", code="session_expired")
        return ResolveOut(user_id=resolved.user_id, session_id=resolved.session_id,
                          email_verified=resolved.email_verified, name=resolved.name, email=resolved.email,
                          timezone=resolved.timezone)

    @internal.post("/users/{user_id}/confirm-password", status_code=204)

    @callers("privacy")
    async def confirm_password(user_id: uuid.UUID, body: PasswordConfirmIn, client: ClientDep) -> Response:
        await service.confirm_password(user_id=user_id, password=body.password, client=client,
                                       end_sessions=body.end_sessions)
        return Response(status_code=204)

    @internal.get("/users/{user_id}/export", response_model=IdentityExport)

    @callers("privacy")
    async def export(user_id: uuid.UUID) -> IdentityExport:
        return await export_user(service.runtime.sessionmaker, user_id)

    return api, internal
