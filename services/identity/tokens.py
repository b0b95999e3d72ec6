"""Opaque secrets handed to people (session cookies, email links): random, and stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def email_key(email: str) -> str:
    """What rate limits and the audit count by, so they work the same for unknown addresses."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()
