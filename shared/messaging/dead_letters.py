"""The operators' tools: list a service's dead letters (leaving them there) and replay them to its queue."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from shared.messaging.broker import DEAD_REASON_HEADER
from shared.messaging.consumer import delivery_count
from shared.messaging.topology import Topology


@dataclass
class DeadLetter:
    message_id: str | None
    type: str | None
    reason: str | None
    died_at: datetime | None
    deliveries: int | None
    body: bytes


def _death(message: AbstractIncomingMessage) -> dict[str, Any]:
    deaths = (message.headers or {}).get("x-death")
    return deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}


def _dead_letter(message: AbstractIncomingMessage) -> DeadLetter:
    death = _death(message)
    reason = (message.headers or {}).get(DEAD_REASON_HEADER)
    died_at = death.get("time") or message.timestamp
    return DeadLetter(
        message_id=message.message_id, type=message.type,
        reason=reason if isinstance(reason, str) else death.get("reason"),
        died_at=died_at.replace(tzinfo=UTC) if isinstance(died_at, datetime) else None,
        deliveries=delivery_count(message), body=message.body,
    )


async def _drain(queue: AbstractQueue, limit: int) -> list[AbstractIncomingMessage]:
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
        messages = await _drain(queue, limit)
        letters = [_dead_letter(m) for m in messages]
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
        messages = await _drain(queue, limit)
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


async def delete_topology(url: str, prefix: str, services: Iterable[str]) -> None:
    """Removes every queue and exchange of a prefix: for throw-away systems (tests, benches), never production."""
    connection = await aio_pika.connect(url)
    async with connection:
        for service in services:
            topology = Topology(prefix, service)
            for queue in (topology.queue, topology.dead_letter_queue):
                channel = await connection.channel()
                with contextlib.suppress(Exception):
                    await channel.queue_delete(queue)
        channel = await connection.channel()
        for exchange in (f"{prefix}.events", f"{prefix}.dead-letters"):
            with contextlib.suppress(Exception):
                await channel.exchange_delete(exchange)
