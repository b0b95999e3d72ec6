"""HTTP entry points of identity. Reached only through the gateway (internal secret required)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, BeforeValidator, EmailStr, Field, StrictBool

from services.identity.export import export_user
from services.identity.passwords import MAX_LENGTH, MIN_LENGTH
from services.identity.preferences import NotificationChoices
from services.identity.service import ClientInfo, IdentityService, Profile
from services.identity.tables import SignInAttempt
from services.identity.user_agents import describe
from shared.contracts.export import IdentityExport
from shared.errors import ERROR_RESPONSES, BadRequest, Unauthorized
from shared.http.callers import CallerDep
from shared.internal import CLIENT_IP_HEADER, callers
from shared.validation import MAX_INTEGER, StrictModel, sane, text_problem

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


class EmailChangeIn(StrictModel):
    new_email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=4096, description="The account's current password.")


class EmailChangeAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str
    pending_email: str = Field(description="The address the account switches to once the link mailed there is "
                                           "followed (POST /api/v1/auth/verify-email with its token).")


class NotificationChoicesIn(StrictModel):
    """Every choice; one left out takes its default."""

    target_failed: StrictBool = Field(default=True,
                                      description="A mail when a post could not be published to an account.")
    post_published: StrictBool = Field(default=False, description="A mail when a post has been published (one per "
                                                                  "post, once all its accounts have their outcome).")
    reauth_required: StrictBool = Field(default=True, description="A mail when a platform no longer accepts an "
                                                                  "account's authorization and it needs reconnecting.")


class NotificationChoicesPatch(StrictModel):
    """Only the choices sent change."""

    target_failed: StrictBool | None = None
    post_published: StrictBool | None = None
    reauth_required: StrictBool | None = None


class NotificationChoicesOut(BaseModel):
    target_failed: bool
    post_published: bool
    reauth_required: bool


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
    pending_email: str | None = Field(default=None, description="The address an email change waits to be "
                                      "confirmed at; null when none waits.")


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
    email_changed: bool = Field(default=False, description="The link was an email change's: the account's "
                                                           "address is now the one it was mailed to.")


class SessionOut(BaseModel):
    id: uuid.UUID
    ip: str | None
    user_agent: str | None
    device: str = Field(description="The browser and system read from the user agent, e.g. \"Chrome on macOS\"; "
                                    "\"Unknown browser\" when it names none we know.")
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


class SessionList(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None = None


class RevokedOut(BaseModel):
    revoked: int = Field(description="How many sessions were signed out.")


SignInAction = Literal["sign_in", "password_change", "password_confirm", "email_change"]
SignInOutcome = Literal["succeeded", "failed", "throttled"]


class SignInOut(BaseModel):
    at: datetime
    ip: str | None
    user_agent: str | None
    browser: str = Field(description="The browser and system read from the user agent, e.g. \"Firefox on Windows\".")
    action: SignInAction = Field(description="sign_in, or the password asked again: to change it, to confirm a "
                                             "deletion, to change the email address. Only failures of those are "
                                             "recorded.")
    outcome: SignInOutcome = Field(description="throttled: refused unchecked after too many failures.")


class SignInList(BaseModel):
    items: list[SignInOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as cursor for the next (older) page; null on the last.")


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


EMAIL_CHANGE_ACCEPTED = ("We have sent a link to {email}. Your account keeps its current address until you follow "
                         "it, within 24 hours.")
SIGN_IN_CURSOR = "next_cursor of the previous page; anything else is refused (400 invalid_cursor)."


def user_out(profile: Profile) -> UserOut:
    user = profile.user
    return UserOut(id=user.id, name=user.name, email=user.email, email_verified=user.email_verified_at is not None,
                   timezone=user.timezone, pending_email=profile.pending_email)


def choices_out(choices: NotificationChoices) -> NotificationChoicesOut:
    return NotificationChoicesOut(target_failed=choices.target_failed, post_published=choices.post_published,
                                  reauth_required=choices.reauth_required)


def sign_in_out(attempt: SignInAttempt) -> SignInOut:
    # Stored as "failed", "succeeded", "throttled" for sign-ins and "failed_password_change" and the like.
    outcome, _, action = attempt.outcome.partition("_")
    return SignInOut(at=attempt.at, ip=str(attempt.ip) if attempt.ip else None, user_agent=attempt.user_agent,
                     browser=describe(attempt.user_agent), action=action or "sign_in", outcome=outcome)


def encode_sign_in_cursor(attempt: SignInAttempt) -> str:
    return base64.urlsafe_b64encode(f"{attempt.at.isoformat()}|{attempt.id}".encode()).decode()


def decode_sign_in_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, attempt_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment, number = sane(datetime.fromisoformat(at)), int(attempt_id)
        if not 0 < number <= MAX_INTEGER:
            raise ValueError(number)
        return moment.replace(tzinfo=moment.tzinfo or UTC), number
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The cursor is not one this API gave out.", code="invalid_cursor") from None


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

    @api.post("/auth/verify-email", response_model=VerifiedOut, tags=["auth"],
              description="Follows a mailed confirmation link: the sign-up's, or an email change's, which also "
                          "makes the address it was sent to the account's (409 email_taken if another account took "
                          "it meanwhile). Each link works once.")
    async def verify_email(body: TokenIn) -> VerifiedOut:
        return VerifiedOut(email_changed=await service.verify_email(body.token))

    @api.post("/auth/resend-verification", status_code=202, response_model=Accepted, tags=["auth"])
    async def resend_verification(body: EmailIn, client: ClientDep) -> Accepted:
        await service.resend_verification(email=body.email, client=client)
        return Accepted(message=RESEND_ACCEPTED)

    @api.post("/auth/login", response_model=UserOut, tags=["auth"])
    async def sign_in(body: SignInIn, client: ClientDep, response: Response) -> UserOut:
        signed_in = await service.sign_in(email=body.email, password=body.password, client=client)
        response.set_cookie(settings.session_cookie_name, signed_in.token, max_age=signed_in.max_age, path="/",
                            httponly=True, samesite="lax", secure=settings.is_production)
        return user_out(await service.profile(signed_in.user.id))

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
        return user_out(await service.profile(caller.user_id))

    @api.patch("/me", response_model=UserOut, tags=["auth"])
    async def change_me(body: MePatch, caller: CallerDep) -> UserOut:
        await service.update_profile(caller.user_id, name=body.name, timezone=body.timezone)
        return user_out(await service.profile(caller.user_id))

    @api.post("/me/email", status_code=202, response_model=EmailChangeAccepted, tags=["auth"],
              description="Asks to change the account's address: a link goes to the new address and a notice to "
                          "the current one, which stays the account's until the link is followed. Asking again "
                          "replaces the change waiting. 403 wrong_password; 422 email_unchanged; 429 "
                          "too_many_email_changes (5 an hour).")
    async def change_email(body: EmailChangeIn, caller: CallerDep, client: ClientDep) -> EmailChangeAccepted:
        pending = await service.request_email_change(user_id=caller.user_id, new_email=body.new_email,
                                                     password=body.password, client=client)
        return EmailChangeAccepted(message=EMAIL_CHANGE_ACCEPTED.format(email=pending), pending_email=pending)

    @api.delete("/me/email/pending", status_code=204, tags=["auth"],
                description="Cancels the email change waiting, if any: its link stops working.")
    async def cancel_email_change(caller: CallerDep) -> Response:
        await service.cancel_email_change(caller.user_id)
        return Response(status_code=204)

    @api.get("/me/notifications", response_model=NotificationChoicesOut, tags=["auth"],
             description="Which mails the person gets about their posts and accounts.")
    async def notification_choices(caller: CallerDep) -> NotificationChoicesOut:
        return choices_out(await service.notification_choices(caller.user_id))

    @api.put("/me/notifications", response_model=NotificationChoicesOut, tags=["auth"])
    async def replace_notification_choices(body: NotificationChoicesIn, caller: CallerDep) -> NotificationChoicesOut:
        return choices_out(await service.change_notification_choices(caller.user_id, **body.model_dump()))

    @api.patch("/me/notifications", response_model=NotificationChoicesOut, tags=["auth"])
    async def change_notification_choices(body: NotificationChoicesPatch,
                                          caller: CallerDep) -> NotificationChoicesOut:
        return choices_out(await service.change_notification_choices(caller.user_id, **body.model_dump()))

    @api.get("/me/sign-ins", response_model=SignInList, tags=["auth"],
             description="The sign-ins to this account, and the failed checks of its password when it was asked "
                         "again, newest first, for as long as the sign-in audit is kept (90 days unless "
                         "configured otherwise).")
    async def sign_in_history(caller: CallerDep,
                              cursor: Annotated[str | None, Query(max_length=200, description=SIGN_IN_CURSOR)] = None,
                              limit: Annotated[int, Query(ge=1, le=100)] = 20) -> SignInList:
        page = await service.sign_in_history(caller.user_id, limit=limit,
                                             before=decode_sign_in_cursor(cursor) if cursor else None)
        return SignInList(items=[sign_in_out(a) for a in page.attempts],
                          next_cursor=encode_sign_in_cursor(page.attempts[-1]) if page.more else None)

    @api.get("/auth/sessions", response_model=SessionList, tags=["auth"])
    async def list_sessions(caller: CallerDep) -> SessionList:
        sessions = await service.list_sessions(caller.user_id)
        return SessionList(items=[
            SessionOut(id=s.id, ip=str(s.ip) if s.ip else None, user_agent=s.user_agent, device=describe(s.user_agent),
                       created_at=s.created_at, last_seen_at=s.last_seen_at, expires_at=s.expires_at,
                       current=s.id == caller.session_id)
            for s in sessions])

    @api.post("/auth/logout-others", response_model=RevokedOut, tags=["auth"],
              description="Signs out every session of the person but the one making the request.")
    async def revoke_other_sessions(caller: CallerDep) -> RevokedOut:
        return RevokedOut(revoked=await service.revoke_other_sessions(caller.user_id, caller.session_id))

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
