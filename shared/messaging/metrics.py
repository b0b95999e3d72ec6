"""What the consumers and the outbox relay count."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter, Histogram

EVENTS_PUBLISHED = Counter("postifys_events_published_total", "Events published from the outbox", ["type"])
EVENTS_CONSUMED = Counter("postifys_events_consumed_total", "Events consumed", ["type", "outcome"])
EVENT_LAG = Histogram("postifys_event_lag_seconds", "From an event's occurrence to its handling", ["type"],
                      buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600))


def consumed(event_type: str, outcome: str, occurred_at: datetime | None = None) -> None:
    EVENTS_CONSUMED.labels(type=event_type, outcome=outcome).inc()
    if occurred_at is not None:
        EVENT_LAG.labels(type=event_type).observe(max(0.0, (datetime.now(UTC) - occurred_at).total_seconds()))
