"""`make bench` (consumption part): events consumed per second by one service's consumer through the real
RabbitMQ and Postgres, each one an inbox claim plus a no-op effect in its own transaction. The queue is filled
first, so the figure is the consumer's pace alone, not the publisher's; beside it, the same transactions run
straight on the pool, the ceiling a consumer could reach."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import RESULTS
from deploy.system import create_database, drop_database, with_database
from shared.db import make_engine, make_sessionmaker, schema_metadata
from shared.events import Envelope, EventData
from shared.logging import configure_logging
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer, Session
from shared.messaging.dead_letters import delete_topology
from shared.messaging.outbox import Inbox, messaging_tables
from shared.messaging.topology import PREFETCH, Topology

EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))


class BenchHappened(EventData):
    """An event made for the bench."""

    type = "bench.happened"
    n: int


async def measure(database_url: str, amqp_url: str, prefix: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE SCHEMA bench; CREATE TABLE bench.inbox (event_id uuid PRIMARY KEY, "
                       "type text NOT NULL, processed_at timestamptz NOT NULL DEFAULT now())")
    await conn.close()
    _, inbox = messaging_tables(schema_metadata("bench"))
    engine = make_engine(database_url, service="bench", pool_size=10)
    handled = 0
    all_handled = asyncio.Event()

    async def no_op(_: BenchHappened, __: Session) -> None:
        nonlocal handled
        handled += 1
        if handled == EVENTS:
            all_handled.set()

    topology = Topology(prefix, "bench")
    sender = ServiceBroker(amqp_url, Topology(prefix, "bench-sender"))
    await sender.start()
    await sender.wait_connected(30)
    declaring = ServiceBroker(amqp_url, topology)
    Consumer(declaring, make_sessionmaker(engine), Inbox(inbox)).on(BenchHappened)(no_op)
    await declaring.start()
    await declaring.wait_connected(30)
    await declaring.close()
    for start in range(0, EVENTS, 500):
        await asyncio.gather(*(sender.publish(Envelope(type=BenchHappened.type, producer="bench", data={"n": n}))
                               for n in range(start, min(start + 500, EVENTS))))
    await sender.close()

    ceiling = await claims_without_a_broker(engine, Inbox(inbox), min(EVENTS, 5000))

    consumer = ServiceBroker(amqp_url, topology)
    Consumer(consumer, make_sessionmaker(engine), Inbox(inbox)).on(BenchHappened)(no_op)
    started = time.perf_counter()
    await consumer.start()
    await asyncio.wait_for(all_handled.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await consumer.close()
    await engine.dispose()
    return {"events": EVENTS, "seconds": round(elapsed, 2), "per_second": round(EVENTS / elapsed, 1),
            "ceiling_per_second": ceiling, "of_ceiling": round(EVENTS / elapsed / ceiling, 2)}


async def claims_without_a_broker(engine: AsyncEngine, inbox: Inbox, count: int) -> float:
    """The ceiling: the same transaction (inbox claim, no-op effect) as fast as the pool runs it, as many at once
    as the consumer's prefetch lets through, with no broker or framework in the way."""
    sessionmaker = make_sessionmaker(engine)
    ids = iter([uuid.uuid4() for _ in range(count)])

    async def claim_in_turn() -> None:
        for event_id in ids:
            async with sessionmaker() as session, session.begin():
                await inbox.claim(session, event_id, BenchHappened.type)
    started = time.perf_counter()
    await asyncio.gather(*(claim_in_turn() for _ in range(PREFETCH)))
    return round(count / (time.perf_counter() - started), 1)


async def main() -> None:
    # As the other benches run the services: the figure is the consumer's, not the terminal's.
    configure_logging(service="bench", level="WARNING", json=True)
    run_id = secrets.token_hex(4)
    server = os.environ.get("POSTIFYS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    amqp_url = os.environ.get("POSTIFYS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    database_url = with_database(server, f"postifys_bench_{run_id}")
    prefix = f"postifys-bench-{run_id}"
    await create_database(database_url)
    try:
        results = await measure(database_url, amqp_url, prefix)
    finally:
        await drop_database(database_url)
        await delete_topology(amqp_url, prefix, ["bench"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "consumption.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
