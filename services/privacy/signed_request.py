"""Meta's `signed_request`, as posted to the data-deletion and deauthorize callbacks. Pure functions.

Format: `base64url(signature).base64url(payload)`, where the signature is HMAC-SHA256 of the *encoded* payload
segment, exactly as received, keyed with the app secret. Every refusal is an `InvalidSignedRequest` with a short
machine `reason`; nothing else is raised, whatever the input.

Decisions:
- The input length is capped before any other work (`max_length`, 4096 characters by default; Meta's values are a
  few hundred).
- Base64url padding may be omitted (Meta omits it) or present, but then it must be correct. Characters outside the
  base64url alphabet, impossible lengths and non-canonical encodings are refused as "malformed".
- `algorithm` must be exactly "HMAC-SHA256", uppercase as Meta sends it: the field is inside the signed payload, so
  accepting other spellings would gain nothing.
- `user_id` must be a non-empty string or an integer; it is returned as a string. Floats and booleans are refused.
- The payload is only read after its signature has been verified.
- Given `now`, `issued_at` must be an integer within `max_age_seconds` before it (an hour by default) and at most
  `FUTURE_SKEW_SECONDS` after it; otherwise "stale". A captured signed request is worth nothing after that, which
  also bounds how long a callback must remember the requests it has seen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any, Literal

ALGORITHM = "HMAC-SHA256"
DEFAULT_MAX_LENGTH = 4096
DEFAULT_MAX_AGE_SECONDS = 3600
# Meta's clock and ours may disagree a little.
FUTURE_SKEW_SECONDS = 300
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")

Reason = Literal["too_long", "malformed", "bad_signature", "bad_algorithm", "bad_payload", "no_user_id", "stale"]


class InvalidSignedRequest(ValueError):
    """A `signed_request` that must not be trusted. `reason` is one of `Reason`; the message never repeats input."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(f"invalid signed_request: {reason}")
        self.reason: Reason = reason


def parse_signed_request(value: str, app_secret: str, *, now: float | None = None,
                         max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
                         max_length: int = DEFAULT_MAX_LENGTH) -> dict[str, Any]:
    """The verified payload, with `user_id` as a non-empty string; `InvalidSignedRequest` for any bad `value`.
    Callbacks pass `now` (Unix seconds), so that an old signed request is refused; without it, any age passes.

    An empty `app_secret` is a configuration error, not bad input: it raises a plain `ValueError`.
    """
    if not app_secret:
        raise ValueError("app_secret is empty")
    if not isinstance(value, str):
        raise InvalidSignedRequest("malformed")
    if len(value) > max_length:
        raise InvalidSignedRequest("too_long")
    encoded_signature, encoded_payload = _split(value)
    signature = _decode_base64url(encoded_signature)
    payload_bytes = _decode_base64url(encoded_payload)
    if not hmac.compare_digest(signature, _sign(encoded_payload, app_secret)):
        raise InvalidSignedRequest("bad_signature")
    payload = _json_object(payload_bytes)
    if payload.get("algorithm") != ALGORITHM:
        raise InvalidSignedRequest("bad_algorithm")
    if now is not None and not _recent(payload.get("issued_at"), now, max_age_seconds):
        raise InvalidSignedRequest("stale")
    return {**payload, "user_id": _user_id(payload.get("user_id"))}


def make_signed_request(payload: dict[str, Any], app_secret: str) -> str:
    """A `signed_request` as Meta sends it (unpadded base64url), for the tests and the sandbox."""
    encoded_payload = _encode_base64url(json.dumps(payload, separators=(",", ":")).encode())
    return f"{_encode_base64url(_sign(encoded_payload, app_secret))}.{encoded_payload}"


def _split(value: str) -> tuple[str, str]:
    encoded_signature, dot, encoded_payload = value.partition(".")
    if not dot or not encoded_signature or not encoded_payload or "." in encoded_payload:
        raise InvalidSignedRequest("malformed")
    return encoded_signature, encoded_payload


def _decode_base64url(segment: str) -> bytes:
    if not _BASE64URL.fullmatch(segment):
        raise InvalidSignedRequest("malformed")
    unpadded = segment.rstrip("=")
    if unpadded != segment and len(segment) % 4:
        raise InvalidSignedRequest("malformed")
    try:
        decoded = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise InvalidSignedRequest("malformed") from None
    # Unused trailing bits would let several strings stand for the same bytes.
    if _encode_base64url(decoded) != unpadded:
        raise InvalidSignedRequest("malformed")
    return decoded


def _encode_base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(encoded_payload: str, app_secret: str) -> bytes:
    return hmac.new(app_secret.encode(), encoded_payload.encode("ascii"), hashlib.sha256).digest()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidSignedRequest("bad_payload") from None
    if not isinstance(payload, dict):
        raise InvalidSignedRequest("bad_payload")
    return payload


def _recent(issued_at: object, now: float, max_age_seconds: float) -> bool:
    if isinstance(issued_at, bool) or not isinstance(issued_at, int):
        return False
    return now - max_age_seconds <= issued_at <= now + FUTURE_SKEW_SECONDS


def _user_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidSignedRequest("no_user_id")
    user_id = str(value)
    if not user_id.strip():
        raise InvalidSignedRequest("no_user_id")
    return user_id
