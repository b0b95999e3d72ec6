"""Verifying and reading platform webhooks, before anything is trusted. Pure functions: every refusal is a
`Rejected` with a reason, and nothing else is raised, whatever the input."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

TIKTOK_TOLERANCE_SECONDS = 300
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Rejected(Exception):
    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Event:
    """One platform event from a delivery, in the shape the rest of Postifys reads."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)


def verify_meta(secret: str, body: bytes, header: str | None) -> None:
    if not header:
        raise Rejected("missing X-Hub-Signature-256")
    scheme, _, digest = header.strip().partition("=")
    if scheme != "sha256" or not _HEX64.match(digest):
        raise Rejected("malformed X-Hub-Signature-256")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest):
        raise Rejected("signature does not match")


def parse_tiktok_header(header: str | None) -> tuple[int, str]:
    if not header or len(header) > 512:
        raise Rejected("missing or oversized TikTok-Signature")
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key in fields:
            raise Rejected("malformed TikTok-Signature")
        fields[key] = value
    timestamp, signature = fields.get("t", ""), fields.get("s", "")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12 or not _HEX64.match(signature):
        raise Rejected("malformed TikTok-Signature")
    return int(timestamp), signature


def verify_tiktok(secret: str, body: bytes, header: str | None, now: float,
                  tolerance: int = TIKTOK_TOLERANCE_SECONDS) -> None:
    timestamp, signature = parse_tiktok_header(header)
    if abs(now - timestamp) > tolerance:
        raise Rejected("timestamp outside the tolerance")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Rejected("signature does not match")


def _object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Rejected("body is not JSON", status=400) from None
    if not isinstance(payload, dict):
        raise Rejected("body is not a JSON object", status=400)
    return payload


def meta_events(body: bytes) -> list[Event]:
    payload = _object(body)
    kind, entries = payload.get("object"), payload.get("entry")
    if not isinstance(kind, str) or not isinstance(entries, list):
        raise Rejected("missing object or entry", status=400)
    events = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise Rejected("an entry is not an object", status=400)
        changes: list[Any] = entry["changes"] if isinstance(entry.get("changes"), list) else []
        messaging: list[Any] = entry["messaging"] if isinstance(entry.get("messaging"), list) else []
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("field"), str):
                raise Rejected("a change has no field", status=400)
            events.append(Event(f"webhook.meta.{kind}.{change['field']}"[:120], {
                "object": kind, "object_id": str(entry.get("id", "")), "time": entry.get("time"),
                "field": change["field"], "value": change.get("value")}))
        for message in messaging:
            events.append(Event(f"webhook.meta.{kind}.messaging"[:120], {
                "object": kind, "object_id": str(entry.get("id", "")), "time": entry.get("time"),
                "value": message}))
    return events


def tiktok_event(body: bytes) -> Event:
    payload = _object(body)
    event, openid = payload.get("event"), payload.get("user_openid")
    if not isinstance(event, str) or not isinstance(openid, str):
        raise Rejected("missing event or user_openid", status=400)
    raw_content = payload.get("content", "{}")
    try:
        content = json.loads(raw_content) if isinstance(raw_content, str) else raw_content
    except (ValueError, RecursionError):
        raise Rejected("content is not a JSON string", status=400) from None
    if not isinstance(content, dict):
        raise Rejected("content is not a JSON object", status=400)
    return Event(f"webhook.tiktok.{event}"[:120], {
        "event": event, "user_openid": openid, "client_key": payload.get("client_key"),
        "create_time": payload.get("create_time"), "content": content})


def dedupe_key(provider: str, body: bytes) -> str:
    """Neither platform sends an event id; identical content is the same delivery (TikTok documents its
    fields; Meta redelivers the same body)."""
    if provider == "tiktok":
        try:
            payload = json.loads(body)
            parts = [str(payload.get(k)) for k in ("client_key", "event", "create_time", "user_openid", "content")]
            return hashlib.sha256("|".join(parts).encode()).hexdigest()
        except (ValueError, AttributeError, RecursionError):
            pass
    return hashlib.sha256(body).hexdigest()


def subject_of(event: Event) -> str:
    """The platform id the event is about: the Meta entry's object, or the TikTok creator ('' if none)."""
    return str(event.data.get("object_id") or event.data.get("user_openid") or "")


def subjects(events: list[Event]) -> list[str]:
    return sorted({subject_of(e) for e in events} - {""})


def events_of(provider: str, body: bytes) -> list[Event]:
    return meta_events(body) if provider == "meta" else [tiktok_event(body)]
