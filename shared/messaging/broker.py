"""The FastStream `RabbitBroker` of one service process: connected in the background until RabbitMQ answers, then
kept up by aio-pika's robust connection; publishes wait for the broker's confirm."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, cast

import aio_pika
import aiormq
import structlog
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker

from shared.events import Envelope, EventData
from shared.messaging.topology import PREFETCH, Topology

if TYPE_CHECKING:
    from faststream.rabbit.utils import RabbitClientProperties

log = structlog.get_logger()

PUBLISH_TIMEOUT = 10


def service_broker(url: str, service: str) -> RabbitBroker:
    return RabbitBroker(
        url, client_properties=cast("RabbitClientProperties", {"connection_name": f"postifys-{service}"}),
        reconnect_interval=2,
        default_channel=Channel(prefetch_count=PREFETCH, publisher_confirms=True), app_id=service,
        ack_policy=AckPolicy.MANUAL, graceful_timeout=5,
        # The AsyncAPI document names the broker as the compose file does, never the address (or its password).
        specification_url="amqp://rabbitmq:5672/",
        # Our own middleware logs each event with its correlation id; FastStream's lines would say it twice.
        logger=None,
    )


class ServiceBroker:
    """Starts the broker without blocking the service's startup: a service answers /readyz with 503 and keeps its
    outbox until RabbitMQ is reachable, instead of failing to start."""

    def __init__(self, url: str, topology: Topology) -> None:
        self.broker = service_broker(url, topology.service)
        self.url = url
        self.topology = topology
        # Filled by the service's subscribers (shared.messaging.consumer) before it starts.
        self.bindings: list[str] = []
        self._exchange = topology.events_exchange()
        self._connector: asyncio.Task[None] | None = None
        self._started = False

    def publishes(self, model: type[EventData], routing_key: str | None = None) -> None:
        """Declares an event this service writes to its outbox, for the AsyncAPI document (the relay publishes)."""
        self.broker.publisher(exchange=self._exchange, routing_key=routing_key or model.type, schema=model,
                              title=routing_key or model.type, description=model.__doc__)

    async def start(self) -> None:
        self._connector = asyncio.create_task(self._connect_until_up())

    async def wait_connected(self, timeout: float) -> None:
        if self._connector:
            await asyncio.wait_for(asyncio.shield(self._connector), timeout)

    async def ready(self) -> bool:
        return self._started and await self.broker.ping(timeout=0.5)

    async def _connect_until_up(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.broker.connect()
                await self._declare()
                await self.broker.start()
                self._started = True
                log.info("Broker connected", queue=self.topology.queue if self.bindings else None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Broker unreachable, retrying", error=str(exc), retry_in=delay)
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _declare(self) -> None:
        """The events exchange; for a consumer, its dead letters first, then its queue with every binding (FastStream
        binds one routing key per subscriber, a service queue takes several types)."""
        t = self.topology
        exchange = await self.broker.declare_exchange(self._exchange)
        if not self.bindings:
            return
        await declare_dead_letters(self.url, t)
        queue = await self.broker.declare_queue(t.service_queue())
        for event_type in self.bindings:
            await queue.bind(exchange, routing_key=event_type)

    async def close(self) -> None:
        if self._connector:
            self._connector.cancel()
            with contextlib.suppress(BaseException):
                await self._connector
        self._started = False
        with contextlib.suppress(Exception):
            await self.broker.stop()

    async def publish(self, envelope: Envelope) -> None:
        """Publishes and waits for the broker's confirm; raises if the broker did not take it (callers check `ready`
        first: during an outage a publish waits for its timeout)."""
        await self.broker.publish(
            envelope.model_dump_json().encode(), exchange=self._exchange, routing_key=envelope.type,
            content_type="application/json", persist=True, message_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id, message_type=envelope.type, timestamp=envelope.occurred_at,
            timeout=PUBLISH_TIMEOUT,
        )

    async def publish_dead_letter(self, message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        """Straight to the service's dead-letter queue, with the reason the broker cannot give (it only knows
        `rejected`): for what no delivery could ever handle."""
        await self.broker.publish(
            message.body, exchange=self.topology.dead_letters_exchange(), routing_key=self.topology.service,
            headers={**(message.headers or {}), DEAD_REASON_HEADER: reason}, content_type=message.content_type,
            persist=True, message_id=message.message_id, correlation_id=message.correlation_id,
            message_type=message.type, timeout=PUBLISH_TIMEOUT,
        )


DEAD_REASON_HEADER = "x-postifys-dead-reason"


async def declare_dead_letters(url: str, topology: Topology) -> None:
    """The dead-letter exchange and queue, bound. An existing queue from before the time limit is taken as it is.
    On a connection of its own: a refused declaration closes its channel."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        dlx = await channel.declare_exchange(topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT,
                                             durable=True)
        try:
            queue = await channel.declare_queue(topology.dead_letter_queue, durable=True,
                                                arguments=topology.dead_letter_arguments())
        except aiormq.exceptions.ChannelPreconditionFailed:
            log.warning("Dead-letter queue has no time limit; delete it (after replaying) to get one",
                        queue=topology.dead_letter_queue)
            channel = await connection.channel()
            queue = await channel.declare_queue(topology.dead_letter_queue, passive=True)
        await queue.bind(dlx, routing_key=topology.service)


async def broker_reachable(url: str, timeout: float = 5) -> None:
    """Raises when RabbitMQ does not accept a connection."""
    connection = await aio_pika.connect(url, timeout=timeout)
    await connection.close()
