"""The outbox relay: publishes committed outbox rows with publisher confirms, deleting only what was confirmed."""

from __future__ import annotations

import asyncio
import contextlib

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import Envelope
from shared.messaging.broker import ServiceBroker
from shared.messaging.metrics import EVENTS_PUBLISHED

log = structlog.get_logger()

RELAY_BATCH = 100


async def relay_outbox(broker: ServiceBroker, sessionmaker: async_sessionmaker[AsyncSession], outbox: sa.Table) -> int:
    """Publishes one batch of committed outbox rows, deleting them only once the broker confirmed."""
    if not await broker.ready():
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
        outcomes = await asyncio.gather(*(broker.publish(envelope) for envelope in envelopes),
                                        return_exceptions=True)
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


async def run_relay(broker: ServiceBroker, sessionmaker: async_sessionmaker[AsyncSession], outbox: sa.Table,
                    wake: asyncio.Event, idle_interval: float = 0.5) -> None:
    failures = 0
    while True:
        try:
            published = await relay_outbox(broker, sessionmaker, outbox)
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
