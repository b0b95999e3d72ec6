"""`make bench` (consumption part): events consumed per second by one service's consumer through the real
RabbitMQ and Postgres, each one an inbox claim plus a no-op effect in its own transaction. The queue is filled
first, so the figure is the consumer's pace alone, not the publisher's."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from bench.harness import RESULTS
from deploy.system import create_database, drop_database, with_database
from shared.bus import Bus, Topology
from shared.db import make_engine, make_sessionmaker, schema_metadata
from shared.events import Envelope
from shared.logging import configure_logging
from shared.messaging.outbox import Inbox, messaging_tables

EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
EVENT_TYPE = "bench.happened"


async def measure(database_url: str, amqp_url: str, prefix: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE SCHEMA bench; CREATE TABLE bench.inbox (event_id uuid PRIMARY KEY, "
                       "type text NOT NULL, processed_at timestamptz NOT NULL DEFAULT now())")
    await conn.close()
    _, inbox = messaging_tables(schema_metadata("bench"))
    engine = make_engine(database_url, service="bench", pool_size=10)
    handled = 0
    all_handled = asyncio.Event()

    async def no_op(_: Envelope, __: AsyncSession) -> None:
        nonlocal handled
        handled += 1
        if handled == EVENTS:
            all_handled.set()

    topology = Topology(prefix, "bench")
    sender = Bus(url=amqp_url, topology=Topology(prefix, "bench-sender"))
    await sender.start()
    await sender.wait_connected(30)
    declaring = Bus(url=amqp_url, topology=topology, handlers={EVENT_TYPE: no_op},
                    sessionmaker=make_sessionmaker(engine), inbox=Inbox(inbox))
    await declaring.start()
    await declaring.wait_connected(30)
    await declaring.close()
    for start in range(0, EVENTS, 500):
        await asyncio.gather(*(sender.publish(Envelope(type=EVENT_TYPE, producer="bench", data={"n": n}))
                               for n in range(start, min(start + 500, EVENTS))))
    await sender.close()

    consumer = Bus(url=amqp_url, topology=topology, handlers={EVENT_TYPE: no_op},
                   sessionmaker=make_sessionmaker(engine), inbox=Inbox(inbox))
    started = time.perf_counter()
    await consumer.start()
    await asyncio.wait_for(all_handled.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await consumer.close()
    await engine.dispose()
    return {"events": EVENTS, "seconds": round(elapsed, 2), "per_second": round(EVENTS / elapsed, 1)}


async def main() -> None:
    # As the other benches run the services: the figure is the consumer's, not the terminal's.
    configure_logging(service="bench", level="WARNING", json=True)
    run_id = secrets.token_hex(4)
    server = os.environ.get("POSTIFYS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    amqp_url = os.environ.get("POSTIFYS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    database_url = with_database(server, f"postifys_bench_{run_id}")
    await create_database(database_url)
    try:
        results = await measure(database_url, amqp_url, f"postifys-bench-{run_id}")
    finally:
        await drop_database(database_url)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "consumption.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
