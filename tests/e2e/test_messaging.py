"""The bus through the real RabbitMQ and Postgres: outbox across a broker outage, idempotent consumers,
poison messages to the dead-letter queue and back."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from faststream.rabbit import QueueType, RabbitBroker, RabbitQueue

from shared.db import make_engine, make_sessionmaker, schema_metadata
from shared.events import Envelope, EventData
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer, Delivered, Session
from shared.messaging.dead_letters import list_dead_letters, replay_dead_letters
from shared.messaging.metrics import EVENTS_CONSUMED
from shared.messaging.outbox import Inbox, messaging_tables
from shared.messaging.topology import DELIVERY_LIMIT, Topology
from tests.support import STRONG_PASSWORD, Stack, unique_email, wait_for

SERVICES = ("identity", "connector", "publisher", "webhooks", "privacy")


def rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.fail("rabbitmqctl is needed to take the local broker down and up")
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=120)


async def readiness(stack: Stack) -> dict[str, int]:
    async with httpx.AsyncClient(timeout=5) as http:
        return {s: (await http.get(f"{stack.service_url(s)}/readyz")).status_code for s in SERVICES}


async def test_event_written_while_rabbitmq_was_down_reaches_another_service_when_it_returns(
        client: httpx.AsyncClient, stack: Stack, db: asyncpg.Connection) -> None:
    rabbitmqctl("stop_app")
    try:
        async def all_not_ready() -> bool:
            return set((await readiness(stack)).values()) == {503}
        await wait_for(all_not_ready, timeout=30, message="every /readyz to answer 503 without the broker")

        email = unique_email("outage")
        signed_up = await client.post("/api/v1/auth/signup",
                                      json={"name": "Outage", "email": email, "password": STRONG_PASSWORD})
        assert signed_up.status_code == 201
        user_id = signed_up.json()["id"]
        pending = await db.fetchval("SELECT count(*) FROM identity.outbox WHERE payload->'data'->>'user_id' = $1",
                                    user_id)
        assert pending == 1
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")

    async def all_ready() -> bool:
        return set((await readiness(stack)).values()) == {200}
    await wait_for(all_ready, timeout=60, message="every /readyz to recover without a restart")

    async def delivered() -> bool:
        return bool(await db.fetchval("SELECT 1 FROM privacy.data_subjects WHERE user_id = $1::uuid", user_id))
    await wait_for(delivered, timeout=60, message="the outboxed user.registered to reach privacy")
    assert await db.fetchval("SELECT count(*) FROM identity.outbox") == 0


class Happened(EventData):
    """An event made for the tests."""

    type = "test.happened"
    n: int


class Recorder:
    """A consumer service made for the test: records each effect in Postgres, fails on 'poison' until healed."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.healed = False

    async def handle(self, event: Happened, envelope: Delivered, session: Session) -> None:
        self.attempts[str(envelope.event_id)] += 1
        if envelope.data.get("poison") and not self.healed:
            raise RuntimeError("this message always fails")
        await session.execute(sa.text("INSERT INTO testing.effects (event_id) VALUES (:id)"),
                              {"id": envelope.event_id})


@pytest.fixture
async def consumer(stack: Stack) -> AsyncIterator[tuple[Recorder, ServiceBroker, ServiceBroker, asyncpg.Connection]]:
    conn = await asyncpg.connect(stack.database_url)
    await conn.execute("CREATE SCHEMA IF NOT EXISTS testing")
    await conn.execute("CREATE TABLE IF NOT EXISTS testing.inbox (event_id uuid PRIMARY KEY, type text NOT NULL, "
                       "processed_at timestamptz NOT NULL DEFAULT now())")
    await conn.execute("CREATE TABLE IF NOT EXISTS testing.effects (event_id uuid NOT NULL)")
    await conn.execute("TRUNCATE testing.inbox, testing.effects")
    _, inbox = messaging_tables(schema_metadata("testing"))
    engine = make_engine(stack.database_url, service="testing", pool_size=5)
    recorder = Recorder()
    topology = Topology(stack.prefix, "testing")
    receiving = ServiceBroker(stack.amqp_url, topology)
    Consumer(receiving, make_sessionmaker(engine), Inbox(inbox)).on(Happened)(recorder.handle)
    sending = ServiceBroker(stack.amqp_url, Topology(stack.prefix, "testing-sender"))
    await receiving.start()
    await sending.start()
    await receiving.wait_connected(30)
    await sending.wait_connected(30)
    try:
        yield recorder, receiving, sending, conn
    finally:
        await receiving.close()
        await sending.close()
        await engine.dispose()
        await conn.close()


def consumed(outcome: str) -> float:
    return EVENTS_CONSUMED.labels(type="test.happened", outcome=outcome)._value.get()


def event(**data: object) -> Envelope:
    return Envelope(type="test.happened", producer="tests", data={"n": 1, **data})


async def effects(conn: asyncpg.Connection, event_id: uuid.UUID | None = None) -> int:
    if event_id is None:
        return int(await conn.fetchval("SELECT count(*) FROM testing.effects"))
    return int(await conn.fetchval("SELECT count(*) FROM testing.effects WHERE event_id = $1", event_id))


async def test_a_consumer_that_sees_the_same_event_several_times_applies_it_once(consumer) -> None:
    recorder, _, sending, conn = consumer
    duplicates_before = consumed("duplicate")
    once, twice, thrice = event(), event(), event()
    for envelope in (thrice, once, twice, thrice, twice, thrice):
        await sending.publish(envelope)

    async def all_seen() -> bool:
        return consumed("duplicate") - duplicates_before == 3 and await effects(conn) == 3
    await wait_for(all_seen, message="every delivery to be handled")
    for envelope in (once, twice, thrice):
        assert await effects(conn, envelope.event_id) == 1


async def test_a_message_that_always_fails_is_dead_lettered_while_others_flow_and_can_be_replayed(
        consumer, stack: Stack) -> None:
    recorder, receiving, sending, conn = consumer
    poison = event(poison=True)
    await sending.publish(poison)
    healthy = [event() for _ in range(20)]
    for envelope in healthy:
        await sending.publish(envelope)

    async def healthy_applied() -> bool:
        return await effects(conn) == len(healthy)
    await wait_for(healthy_applied, message="the healthy messages to flow past the poison one")

    async def dead_lettered() -> list:
        letters = await list_dead_letters(stack.amqp_url, receiving.topology)
        return [letter for letter in letters if letter.message_id == str(poison.event_id)]
    [letter] = await wait_for(dead_lettered, timeout=30, message="the poison message in the dead-letter queue")
    assert letter.reason == "delivery_limit"
    assert letter.type == "test.happened"
    assert recorder.attempts[str(poison.event_id)] == DELIVERY_LIMIT + 1
    assert await effects(conn, poison.event_id) == 0

    # Listing leaves it there; after the fix, an operator replays it and it is applied once.
    assert [x.message_id for x in await list_dead_letters(stack.amqp_url, receiving.topology)] == [letter.message_id]
    recorder.healed = True
    assert await replay_dead_letters(stack.amqp_url, receiving.topology) == 1

    async def applied() -> bool:
        return await effects(conn, poison.event_id) == 1
    await wait_for(applied, message="the replayed message to be applied")
    assert await list_dead_letters(stack.amqp_url, receiving.topology) == []


async def test_dead_letters_expire_after_two_weeks(consumer, stack: Stack) -> None:
    _, receiving, _, _ = consumer
    topology = receiving.topology
    assert topology.dead_letter_arguments()["x-message-ttl"] == 14 * 24 * 3600 * 1000
    async with RabbitBroker(stack.amqp_url, logger=None) as broker:
        # Declaring again with the same arguments succeeds only if the queue has exactly them.
        await broker.declare_queue(RabbitQueue(topology.dead_letter_queue, QueueType.QUORUM, durable=True,
                                               arguments=topology.dead_letter_arguments()))
        with pytest.raises(Exception, match="inequivalent arg 'x-message-ttl'"):
            await broker.declare_queue(RabbitQueue(topology.dead_letter_queue, QueueType.QUORUM, durable=True))


async def test_what_no_delivery_could_handle_is_dead_lettered_at_once_with_its_reason_and_the_next_one_flows(
        consumer, stack: Stack) -> None:
    _, receiving, sending, conn = consumer
    topology = receiving.topology
    unknown = Envelope(type="test.nobody_handles_this", producer="tests", data={})
    misfit = Envelope(type="test.happened", producer="tests", data={"n": "not a number"})
    failed_before = consumed("failed")
    # Straight into the queue, as a replay or a foreign producer could: no binding routes these here.
    await sending.broker.publish(b"{not an envelope", queue=topology.queue, message_id="unreadable-1", persist=True)
    await sending.broker.publish(unknown.model_dump_json().encode(), queue=topology.queue,
                                 message_id=str(unknown.event_id), message_type=unknown.type, persist=True)
    await sending.publish(misfit)
    after = event()
    await sending.publish(after)

    async def after_applied() -> bool:
        return await effects(conn, after.event_id) == 1
    await wait_for(after_applied, message="the message after the dead ones to be handled")

    async def all_dead() -> dict[str | None, str | None] | None:
        letters = {letter.message_id: letter.reason for letter in await list_dead_letters(stack.amqp_url, topology)}
        return letters if len(letters) == 3 else None
    reasons = await wait_for(all_dead, timeout=30, message="three dead letters")
    assert reasons["unreadable-1"].startswith("unreadable envelope")
    assert reasons[str(unknown.event_id)] == "no handler for the event type test.nobody_handles_this"
    assert reasons[str(misfit.event_id)].startswith("data does not match test.happened")
    assert await effects(conn, misfit.event_id) == 0
    # Each died on its first delivery: nothing spun through the delivery limit.
    assert consumed("failed") == failed_before
