"""How the gateway vouches for a request to a service: a shared internal secret and the user it resolved."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

INTERNAL_SECRET_HEADER = "x-postifys-internal"  # noqa: S105 (a header name)
USER_HEADER = "x-postifys-user-id"
SESSION_HEADER = "x-postifys-session-id"
EMAIL_VERIFIED_HEADER = "x-postifys-email-verified"
CLIENT_IP_HEADER = "x-postifys-client-ip"
REQUEST_ID_HEADER = "x-request-id"
# Clients may never set these: the gateway strips them from every incoming request.
GATEWAY_ONLY_HEADERS = (INTERNAL_SECRET_HEADER, USER_HEADER, SESSION_HEADER, EMAIL_VERIFIED_HEADER, CLIENT_IP_HEADER)


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    email_verified: bool


def secret_matches(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())
