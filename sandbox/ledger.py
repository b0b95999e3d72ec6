"""What the platforms accepted and what they refused for a limit: the record tests read to tell whether a client
published twice or ran into a limit it should have kept clear of. Pure data, no web framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso_time(at: float) -> str:
    """Inspection times: ISO 8601 in UTC with an offset, e.g. 2026-07-01T10:00:00.123456+00:00."""
    return datetime.fromtimestamp(at, UTC).isoformat()


@dataclass(frozen=True)
class Publish:
    """Content that went live (or, for TikTok's upload flow, to the creator's inbox). `at` may lie in the future
    (a scheduled post, a video still processing): such an entry is only visible once that time has come."""

    platform: str
    account: str
    kind: str
    id: str
    at: float
    text: str | None = None
    media_urls: tuple[str, ...] = ()
    container_id: str | None = None
    post_id: str | None = None
    object_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"platform": self.platform, "account": self.account, "kind": self.kind, "id": self.id,
                "container_id": self.container_id, "post_id": self.post_id, "object_id": self.object_id,
                "text": self.text, "media_urls": list(self.media_urls), "at": iso_time(self.at), "at_unix": self.at,
                **self.details}


@dataclass(frozen=True)
class Breach:
    """A call the sandbox refused because a platform limit was reached: a rate limit, the Instagram publishing
    quota, TikTok's daily post cap. Faults injected through /_sandbox/faults are not breaches."""

    platform: str
    limit: str
    subject: str
    at: float
    path: str

    def describe(self) -> dict[str, Any]:
        return {"platform": self.platform, "limit": self.limit, "subject": self.subject, "at": iso_time(self.at),
                "at_unix": self.at, "path": self.path}


class Ledger:
    def __init__(self) -> None:
        self.publishes: list[Publish] = []
        self.breaches: list[Breach] = []

    def record_publish(self, publish: Publish) -> Publish:
        self.publishes.append(publish)
        return publish

    def record_breach(self, breach: Breach) -> None:
        self.breaches.append(breach)

    def visible_publishes(self, now: float, *, platform: str | None = None, account: str | None = None,
                          kind: str | None = None) -> list[Publish]:
        chosen = [p for p in self.publishes if p.at <= now and (platform is None or p.platform == platform)
                  and (account is None or p.account == account) and (kind is None or p.kind == kind)]
        return sorted(chosen, key=lambda p: p.at)
