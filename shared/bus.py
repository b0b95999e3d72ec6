"""RabbitMQ plumbing: topology, the outbox relay (publisher confirms), idempotent consumers, dead letters.

Topology for a prefix P and a service S:
- `P.events`: one topic exchange, routing key = event type.
- `P.S`: the service's durable quorum queue, explicit delivery limit, dead-lettered at least once to
- `P.dead-letters` (direct exchange, routing key S) into `P.S.dead-letters`, where operators list and replay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
import sqlalchemy as sa
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from prometheus_client import Counter, Histogram
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import Envelope
from shared.outbox import Inbox

log = structlog.get_logger()

DELIVERY_LIMIT = 5
PREFETCH = 10
RELAY_BATCH = 100
# Dead letters carry events, and events can name people and their accounts: an operator has two weeks to look and
# replay, then the broker drops them, so they never outlive a deletion or the retention periods by much.
DEAD_LETTER_TTL_DAYS = 14

Handler = Callable[[Envelope, AsyncSession], Awaitable[None]]

EVENTS_PUBLISHED = Counter("postifys_events_published_total", "Events published from the outbox", ["type"])
EVENTS_CONSUMED = Counter("postifys_events_consumed_total", "Events consumed", ["type", "outcome"])
EVENT_LAG = Histogram("postifys_event_lag_seconds", "From an event's occurrence to its handling", ["type"],
                      buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600))


@dataclass(frozen=True)
class Topology:
    prefix: str
    service: str

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dead-letters"

    @property
    def queue(self) -> str:
        return f"{self.prefix}.{self.service}"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}.{self.service}.dead-letters"

    @staticmethod
    def dead_letter_arguments() -> dict[str, Any]:
        return {"x-queue-type": "quorum", "x-message-ttl": DEAD_LETTER_TTL_DAYS * 86_400_000}

    def queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": self.service,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }


class Bus:
    """One robust connection per process; reconnects by itself when the broker comes back."""

    def __init__(self, *, url: str, topology: Topology, handlers: dict[str, Handler] | None = None,
                 sessionmaker: async_sessionmaker[AsyncSession] | None = None, inbox: Inbox | None = None) -> None:
        self.url = url
        self.topology = topology
        self.handlers = handlers or {}
        self.sessionmaker = sessionmaker
        self.inbox = inbox
        self.connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._connector: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        conn = self.connection
        return conn is not None and not conn.is_closed and conn.connected.is_set()

    async def start(self) -> None:
        self._connector = asyncio.create_task(self._connect_until_up())

    async def wait_connected(self, timeout: float) -> None:
        if self._connector:
            await asyncio.wait_for(asyncio.shield(self._connector), timeout)

    async def _connect_until_up(self) -> None:
        delay = 0.5
        while True:
            try:
                self.connection = await aio_pika.connect_robust(
                    self.url, client_properties={"connection_name": f"postifys-{self.topology.service}"},
                    reconnect_interval=2,
                )
                await self._declare()
                log.info("Broker connected", queue=self.topology.queue if self.handlers else None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Broker unreachable, retrying", error=str(exc), retry_in=delay)
                if self.connection:
                    with contextlib.suppress(Exception):
                        await self.connection.close()
                    self.connection = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _declare(self) -> None:
        assert self.connection is not None
        t = self.topology
        self._publish_channel = await self.connection.channel(publisher_confirms=True)
        self._exchange = await self._publish_channel.declare_exchange(
            t.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        if not self.handlers:
            return
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        exchange = await channel.declare_exchange(t.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        dlx = await channel.declare_exchange(t.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True)
        arguments = await self._dead_letter_arguments()
        dlq = await (channel.declare_queue(t.dead_letter_queue, durable=True, arguments=arguments) if arguments
                     else channel.declare_queue(t.dead_letter_queue, passive=True))
        await dlq.bind(dlx, routing_key=t.service)
        queue = await channel.declare_queue(t.queue, durable=True, arguments=t.queue_arguments())
        for event_type in self.handlers:
            await queue.bind(exchange, routing_key=event_type)
        await queue.consume(self._on_message)

    async def _dead_letter_arguments(self) -> dict[str, Any] | None:
        """The dead-letter queue's arguments, or None when it exists from before the time limit (then it is taken
        as it is). Probed on a connection of its own: a refused declaration closes its channel."""
        t = self.topology
        probe = await aio_pika.connect(self.url)
        try:
            channel = await probe.channel()
            await channel.declare_queue(t.dead_letter_queue, durable=True, arguments=t.dead_letter_arguments())
            return t.dead_letter_arguments()
        except aiormq.exceptions.ChannelPreconditionFailed:
            log.warning("Dead-letter queue has no time limit; delete it (after replaying) to get one",
                        queue=t.dead_letter_queue)
            return None
        finally:
            await probe.close()

    def handler_for(self, event_type: str) -> Handler | None:
        """Exact types first; a key ending in `.#` takes every type under that prefix (as it is bound)."""
        handler = self.handlers.get(event_type)
        if handler is None:
            handler = next((h for key, h in self.handlers.items()
                            if key.endswith(".#") and event_type.startswith(key[:-1])), None)
        return handler

    async def close(self) -> None:
        if self._connector:
            self._connector.cancel()
            with contextlib.suppress(BaseException):
                await self._connector
        if self.connection:
            with contextlib.suppress(Exception):
                await self.connection.close()

    async def publish(self, envelope: Envelope) -> None:
        """Publishes and waits for the broker's confirm; raises if the broker did not take it."""
        if not self.ready or self._exchange is None:
            raise ConnectionError("broker not connected")
        message = aio_pika.Message(
            body=envelope.model_dump_json().encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            type=envelope.type,
            app_id=envelope.producer,
            timestamp=envelope.occurred_at,
        )
        await self._exchange.publish(message, routing_key=envelope.type, timeout=10)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            log.error("Unreadable message sent to dead letters", error=str(exc)[:500], message_id=message.message_id)
            EVENTS_CONSUMED.labels(type=message.type or "unknown", outcome="unreadable").inc()
            await message.reject(requeue=False)
            return
        handler = self.handler_for(envelope.type)
        if handler is None or self.sessionmaker is None or self.inbox is None:
            await message.ack()
            return
        with structlog.contextvars.bound_contextvars(
            correlation_id=envelope.correlation_id, event_id=str(envelope.event_id), event_type=envelope.type
        ):
            try:
                async with self.sessionmaker() as session, session.begin():
                    first_time = await self.inbox.claim(session, envelope.event_id, envelope.type)
                    if first_time:
                        await handler(envelope, session)
            except Exception:
                deliveries = _delivery_count(message) + 1
                log.exception("Event handler failed", delivery=deliveries, delivery_limit=DELIVERY_LIMIT)
                EVENTS_CONSUMED.labels(type=envelope.type, outcome="failed").inc()
                # A short pause keeps a failing handler from spinning through its deliveries at once.
                await asyncio.sleep(min(0.2 * deliveries, 2))
                await message.nack(requeue=True)
                return
            await message.ack()
            outcome = "applied" if first_time else "duplicate"
            EVENTS_CONSUMED.labels(type=envelope.type, outcome=outcome).inc()
            EVENT_LAG.labels(type=envelope.type).observe(
                max(0.0, (datetime.now(UTC) - envelope.occurred_at).total_seconds()))
            log.info("Event consumed", outcome=outcome)


async def relay_outbox(bus: Bus, sessionmaker: async_sessionmaker[AsyncSession], outbox: sa.Table) -> int:
    """Publishes one batch of committed outbox rows, deleting them only once the broker confirmed."""
    if not bus.ready:
        return 0
    async with sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                sa.select(outbox.c.id, outbox.c.payload)
                .order_by(outbox.c.id)
                .limit(RELAY_BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        envelopes = [Envelope.model_validate(row.payload) for row in rows]
        # Published together and confirmed together: one round of broker confirms per batch, not per event.
        outcomes = await asyncio.gather(*(bus.publish(envelope) for envelope in envelopes), return_exceptions=True)
        confirmed = [row.id for row, outcome in zip(rows, outcomes, strict=True) if outcome is None]
        for envelope, outcome in zip(envelopes, outcomes, strict=True):
            if outcome is None:
                EVENTS_PUBLISHED.labels(type=envelope.type).inc()
        if confirmed:
            await session.execute(sa.delete(outbox).where(outbox.c.id.in_(confirmed)))
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)] if rows else []
    if failures:
        # What the broker confirmed is gone from the outbox; the rest waits for the relay's next try.
        raise failures[0]
    return len(rows)


async def run_relay(bus: Bus, sessionmaker: async_sessionmaker[AsyncSession], outbox: sa.Table,
                    wake: asyncio.Event, idle_interval: float = 0.5) -> None:
    failures = 0
    while True:
        try:
            published = await relay_outbox(bus, sessionmaker, outbox)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            log.warning("Outbox relay failed, will retry", error=str(exc), failures=failures)
            published = 0
            await asyncio.sleep(min(0.5 * 2**failures, 10))
        if published == RELAY_BATCH:
            continue
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), idle_interval)


@dataclass
class DeadLetter:
    message_id: str | None
    type: str | None
    reason: str | None
    died_at: datetime | None
    deliveries: int | None
    body: bytes


def _delivery_count(message: AbstractIncomingMessage) -> int:
    count = (message.headers or {}).get("x-delivery-count")
    return count if isinstance(count, int) else 0


def _death(message: AbstractIncomingMessage) -> dict[str, Any]:
    deaths = (message.headers or {}).get("x-death")
    return deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}


async def _drain(channel: AbstractChannel, queue: AbstractQueue, limit: int) -> list[AbstractIncomingMessage]:
    messages: list[AbstractIncomingMessage] = []
    while len(messages) < limit:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        messages.append(message)
    return messages


async def list_dead_letters(url: str, topology: Topology, limit: int = 100) -> list[DeadLetter]:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        try:
            queue = await channel.get_queue(topology.dead_letter_queue)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return []  # the service consumes nothing, so nothing of its can die
        messages = await _drain(channel, queue, limit)
        letters = []
        for m in messages:
            death = _death(m)
            died_at = death.get("time")
            letters.append(DeadLetter(
                message_id=m.message_id, type=m.type, reason=death.get("reason"),
                died_at=died_at.replace(tzinfo=UTC) if isinstance(died_at, datetime) else None,
                deliveries=_delivery_count(m), body=m.body,
            ))
        for m in messages:
            await m.nack(requeue=True)
        return letters


async def replay_dead_letters(url: str, topology: Topology, message_ids: set[str] | None = None,
                              limit: int = 1000) -> int:
    """Sends dead letters back to the service's own queue (and to no other service), with a fresh
    delivery count. Without ids, replays all of them."""
    connection = await aio_pika.connect(url)
    replayed = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.get_queue(topology.dead_letter_queue)
        messages = await _drain(channel, queue, limit)
        for m in messages:
            if message_ids is not None and m.message_id not in message_ids:
                await m.nack(requeue=True)
                continue
            headers = {k: v for k, v in (m.headers or {}).items() if not k.startswith("x-")}
            await channel.default_exchange.publish(
                aio_pika.Message(body=m.body, headers=headers, content_type=m.content_type,
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=m.message_id,
                                 correlation_id=m.correlation_id, type=m.type, app_id=m.app_id),
                routing_key=topology.queue,
            )
            await m.ack()
            replayed += 1
    return replayed
