"""Webhooks the platforms send, as pure functions and data: TikTok's and Meta's bodies and signatures exactly as
documented, the events a publish or a revocation turns into, and the record of every delivery. No web framework and
no I/O here; webhook_delivery.py queues, sends and retries them."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.ledger import iso_time

Provider = Literal["tiktok", "meta"]
DIRECT_PUBLISH = "DIRECT_PUBLISH"
INBOX_SHARE = "INBOX_SHARE"
# authorization.removed reasons: 1 the user disconnected the app, 5 the developer revoked the grant.
REASON_USER_DISCONNECTED = 1
REASON_DEVELOPER_REVOKED = 5
FEED_ITEMS = {"feed": "status", "photo": "photo", "photos": "photo", "video": "video"}


def tiktok_signature(secret: str, t: int, body: str) -> str:
    """The `s` of TikTok-Signature: lowercase hex HMAC-SHA256 keyed with the client secret over "{t}.{raw body}"."""
    return hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()


def tiktok_headers(secret: str, t: int, body: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "TikTok-Signature": f"t={t},s={tiktok_signature(secret, t, body)}"}


def meta_signature(secret: str, body: str) -> str:
    """X-Hub-Signature-256 without its "sha256=": lowercase hex HMAC-SHA256 keyed with the app secret over the raw
    body bytes."""
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def meta_sha1_signature(secret: str, body: str) -> str:
    """The legacy X-Hub-Signature without its "sha1="."""
    return hmac.new(secret.encode(), body.encode(), hashlib.sha1).hexdigest()


def meta_headers(secret: str, body: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={meta_signature(secret, body)}",
            "X-Hub-Signature": f"sha1={meta_sha1_signature(secret, body)}"}


def _compact(document: Any) -> str:
    # ensure_ascii: non-ASCII goes out as \uXXXX, the way Meta (and TikTok) serialize.
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True)


def tiktok_body(client_key: str, event: str, create_time: int, open_id: str, content: dict[str, Any]) -> str:
    """TikTok's body; `content` is itself a JSON string."""
    return _compact({"client_key": client_key, "event": event, "create_time": create_time, "user_openid": open_id,
                     "content": _compact(content)})


def meta_body(object_type: str, entry: list[dict[str, Any]]) -> str:
    return _compact({"object": object_type, "entry": entry})


def meta_event(object_type: str, entry: list[dict[str, Any]]) -> str:
    """How the inspection API names a Meta delivery: object/field, fields comma-separated when several."""
    fields: list[str] = []
    for item in entry:
        for change in item.get("changes") or []:
            name = change.get("field") if isinstance(change, dict) else None
            if isinstance(name, str) and name not in fields:
                fields.append(name)
    return f"{object_type}/{','.join(fields)}" if fields else object_type


def publish_events(*, publish_id: str, inbox: bool, private: bool, fail_reason: str | None,
                   post_id: int | None) -> list[tuple[str, dict[str, Any]]]:
    """What TikTok sends when a publish task turns final: (event, content) pairs, in sending order."""
    publish_type = INBOX_SHARE if inbox else DIRECT_PUBLISH
    if fail_reason is not None:
        return [("post.publish.failed",
                 {"publish_id": publish_id, "reason": fail_reason, "publish_type": publish_type})]
    if inbox:
        return [("post.publish.inbox_delivered", {"publish_id": publish_id, "publish_type": INBOX_SHARE})]
    events: list[tuple[str, dict[str, Any]]] = [
        ("post.publish.complete", {"publish_id": publish_id, "publish_type": DIRECT_PUBLISH})]
    if not private and post_id is not None:
        events.append(("post.publish.publicly_available",
                       {"publish_id": publish_id, "post_id": str(post_id), "publish_type": DIRECT_PUBLISH}))
    return events


def feed_entry(*, page_id: str, page_name: str, post_id: str, kind: str, message: str | None, created_time: int,
               now: int) -> dict[str, Any]:
    """A `page` object entry for a Page post that went live."""
    value: dict[str, Any] = {"item": FEED_ITEMS.get(kind, "status"), "verb": "add", "post_id": post_id,
                             "published": 1, "created_time": created_time}
    if message:
        value["message"] = message
    value["from"] = {"id": page_id, "name": page_name}
    return {"id": page_id, "time": now, "changes": [{"field": "feed", "value": value}]}


def permissions_entry(*, user_id: str, revoked: dict[str, list[str]], now: int) -> dict[str, Any]:
    """A `permissions` object entry: one change per revoked permission, naming the objects it covered."""
    return {"id": user_id, "time": now,
            "changes": [{"field": permission, "value": {"verb": "revoked", "target_ids": target_ids}}
                        for permission, target_ids in revoked.items()]}


@dataclass
class Attempt:
    at: float
    status: int | None
    error: str | None

    def describe(self) -> dict[str, Any]:
        return {"at": iso_time(self.at), "at_unix": self.at, "status": self.status, "error": self.error}


@dataclass
class Delivery:
    id: str
    provider: Provider
    event: str
    url: str
    body: str
    created_at: float
    resend_of: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False

    @property
    def finished(self) -> bool:
        return self.delivered or self.gave_up

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "event": self.event, "url": self.url, "body": self.body,
                "created_at": iso_time(self.created_at), "resend_of": self.resend_of,
                "attempts": [a.describe() for a in self.attempts], "delivered": self.delivered,
                "gave_up": self.gave_up}


class WebhookBook:
    """Every delivery, oldest first, and which publishes and Page posts have been announced already."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.by_id: dict[str, Delivery] = {}
        self.announced_tasks: set[str] = set()
        self.announced_posts: set[str] = set()
        self._next = 1

    def add(self, provider: Provider, event: str, url: str, body: str, now: float,
            resend_of: str | None = None) -> Delivery:
        delivery = Delivery(id=f"whd_{self._next}", provider=provider, event=event, url=url, body=body,
                            created_at=now, resend_of=resend_of)
        self._next += 1
        self.deliveries.append(delivery)
        self.by_id[delivery.id] = delivery
        return delivery

    def listed(self, provider: str | None = None, event: str | None = None) -> list[Delivery]:
        return [d for d in self.deliveries if (provider is None or d.provider == provider)
                and (event is None or d.event == event or d.event.startswith(f"{event}/"))]
