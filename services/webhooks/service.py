"""Taking webhooks in: verify, store once, hand the events to the outbox, all before the 2xx goes back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from prometheus_client import Counter

from services.webhooks import signatures
from services.webhooks.settings import WebhooksSettings
from services.webhooks.signatures import Event, Rejected
from services.webhooks.tables import Delivery
from shared.events import PlatformWebhook
from shared.runtime import ServiceRuntime

log = structlog.get_logger()

DELIVERIES = Counter("postifys_webhook_deliveries_total", "Webhook deliveries", ["provider", "outcome", "reason"])
# The hot path: plain text, because the PostgreSQL dialect's insert() with ON CONFLICT is compiled on every call.
# The key goes in first and the delivery only with it, in one statement: a key outlives its delivery (retention,
# erasure), and content seen before is never stored or sent on again.
STORE_ONCE = sa.text(
    "WITH first AS (INSERT INTO webhooks.delivery_keys (provider, dedupe_key, first_seen_at) "
    "VALUES (:provider, :dedupe_key, :received_at) ON CONFLICT DO NOTHING RETURNING provider, dedupe_key) "
    "INSERT INTO webhooks.deliveries (id, provider, dedupe_key, received_at, source_ip, headers, body, status, "
    "reason, event_types, subjects) SELECT CAST(:id AS uuid), first.provider, first.dedupe_key, "
    "CAST(:received_at AS timestamptz), CAST(:source_ip AS inet), CAST(:headers AS jsonb), CAST(:body AS bytea), "
    "CAST(:status AS text), CAST(:reason AS text), CAST(:event_types AS jsonb), CAST(:subjects AS text[]) "
    "FROM first ON CONFLICT DO NOTHING RETURNING id",
).bindparams(*(sa.bindparam(column.name, type_=column.type) for column in Delivery.__table__.columns))
KEPT_HEADERS = ("content-type", "user-agent", "x-hub-signature-256", "tiktok-signature")


class WebhookService:
    def __init__(self, runtime: ServiceRuntime, settings: WebhooksSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.settings = settings
        self.clock = clock

    def verify(self, provider: str, body: bytes, headers: dict[str, str], source_ip: str | None) -> None:
        try:
            if provider == "meta":
                signatures.verify_meta(self.settings.meta_app_secret.get_secret_value(), body,
                                       headers.get("x-hub-signature-256"))
            else:
                signatures.verify_tiktok(self.settings.tiktok_client_secret.get_secret_value(), body,
                                         headers.get("tiktok-signature"), self.clock(),
                                         self.settings.tiktok_signature_tolerance_seconds)
        except Rejected as exc:
            DELIVERIES.labels(provider, "rejected", exc.reason).inc()
            log.warning("Webhook refused", provider=provider, reason=exc.reason, source_ip=source_ip)
            raise

    async def accept(self, provider: str, body: bytes, headers: dict[str, str], source_ip: str | None) -> bool:
        """Stores a verified delivery and its events; False when it was seen before."""
        try:
            events = signatures.events_of(provider, body)
            problem = None
        except Rejected as exc:
            events, problem = [], exc
        delivery_id = uuid.uuid4()
        received_at = datetime.fromtimestamp(self.clock(), UTC)
        kept = {k: v[:512] for k, v in headers.items() if k in KEPT_HEADERS}
        async with self.runtime.transaction() as session:
            connection = await session.connection()
            stored = await connection.execute(STORE_ONCE, {
                "id": delivery_id, "provider": provider, "dedupe_key": signatures.dedupe_key(provider, body),
                "received_at": received_at, "source_ip": source_ip, "headers": kept, "body": body,
                "status": "rejected" if problem else "accepted", "reason": problem.reason if problem else None,
                "event_types": [e.type for e in events], "subjects": signatures.subjects(events)})
            first_time = stored.first() is not None
            if first_time:
                for event in events:
                    await self.emit(session, delivery_id, provider, event)
        if problem:
            DELIVERIES.labels(provider, "rejected", problem.reason).inc()
            log.warning("Webhook stored as rejected", provider=provider, reason=problem.reason, source_ip=source_ip)
            raise problem
        DELIVERIES.labels(provider, "accepted" if first_time else "duplicate", "").inc()
        return first_time

    async def emit(self, session: object, delivery_id: uuid.UUID, provider: str, event: Event) -> None:
        await self.runtime.outbox.add(session, PlatformWebhook(  # type: ignore[arg-type]
            delivery_id=delivery_id, provider=provider, event=event.data), event_type=event.type)

    async def recent(self, status: str | None, limit: int) -> list[Delivery]:
        query = sa.select(Delivery).order_by(Delivery.received_at.desc()).limit(limit)
        if status:
            query = query.where(Delivery.status == status)
        async with self.runtime.sessionmaker() as session:
            return list((await session.scalars(query)).all())

    async def replay(self, delivery_id: uuid.UUID) -> int:
        """Sends a stored delivery's events again (consumers apply them idempotently)."""
        async with self.runtime.transaction() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None or delivery.status != "accepted":
                return 0
            events = signatures.events_of(delivery.provider, delivery.body)
            for event in events:
                await self.emit(session, delivery.id, delivery.provider, event)
        return len(events)
