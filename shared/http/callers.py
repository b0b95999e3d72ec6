"""The person a request is for, as the gateway resolved it from their session (in signed headers)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from shared.errors import Forbidden, Unauthorized
from shared.internal import EMAIL_VERIFIED_HEADER, SESSION_HEADER, USER_HEADER, Caller


def caller_from_headers(request: Request) -> Caller | None:
    user = request.headers.get(USER_HEADER)
    if not user:
        return None
    session = request.headers.get(SESSION_HEADER)
    return Caller(user_id=uuid.UUID(user), session_id=uuid.UUID(session) if session else None,
                  email_verified=request.headers.get(EMAIL_VERIFIED_HEADER) == "1")


def require_caller(request: Request) -> Caller:
    caller = caller_from_headers(request)
    if caller is None:
        raise Unauthorized()
    return caller


def require_verified_caller(caller: Annotated[Caller, Depends(require_caller)]) -> Caller:
    if not caller.email_verified:
        raise Forbidden("Verify your email address first.", code="email_not_verified")
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]
VerifiedDep = Annotated[Caller, Depends(require_verified_caller)]
