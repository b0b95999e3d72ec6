"""The one error shape: {"error": {"code", "message", "details"}}, and the exceptions that map to it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class PostifysError(Exception):
    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None,
                 status_code: int | None = None, headers: dict[str, str] | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.details = details
        self.headers = headers
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(PostifysError):
    pass


class Unauthorized(PostifysError):
    status_code = 401
    code = "unauthorized"
    message = "Sign in to continue."


class Forbidden(PostifysError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(PostifysError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(PostifysError):
    status_code = 409
    code = "conflict"
    message = "This conflicts with the current state."


class TooLarge(PostifysError):
    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large."


class Unprocessable(PostifysError):
    status_code = 422
    code = "validation_error"
    message = "Some fields are invalid."


class TooManyRequests(PostifysError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests. Try again later."


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed request",
        401: "Not signed in",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Invalid fields",
        429: "Rate limited",
    }.items()
}
