"""The token in a signed media URL: which item and until when, with an HMAC over both. Pure functions; a token
that is malformed, signed with another key or changed in any byte reads as None, and an expired one as Expired."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

VERSION = "m1"
_TOKEN = re.compile(r"^m1\.([0-9a-f]{32})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Granted:
    media_id: uuid.UUID
    expires_at: int


class Expired(Exception):
    pass


def _signature(key: bytes, media_id: uuid.UUID, expires_at: int) -> str:
    digest = hmac.new(key, f"{VERSION}.{media_id.hex}.{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, media_id: uuid.UUID, expires_at: int) -> str:
    return f"{VERSION}.{media_id.hex}.{expires_at}.{_signature(key, media_id, expires_at)}"


def verify(key: bytes, token: str, now: float) -> Granted | None:
    """The item the token grants; None when it is not a token we signed; Expired once its time has passed."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    try:
        media_id = uuid.UUID(hex=match.group(1))
    except (ValueError, binascii.Error):
        return None
    expires_at = int(match.group(2))
    if not hmac.compare_digest(_signature(key, media_id, expires_at), match.group(3)):
        return None
    if now >= expires_at:
        raise Expired()
    return Granted(media_id=media_id, expires_at=expires_at)
