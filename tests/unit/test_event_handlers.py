"""How a service's consumer decides, on FastStream's in-memory broker: which handler takes an event, what it is
given, what a duplicate does, and what goes to the dead letters with which reason. The inbox and the transaction
are stand-ins here; tests/e2e/test_messaging.py runs the same through RabbitMQ and Postgres."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from faststream.rabbit import TestRabbitBroker

from shared.events import AccountConnected, Envelope, PlatformWebhook
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer, Delivered, Provided, Session, Subscriptions
from shared.messaging.topology import Topology

ACCOUNT = {"account_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "platform": "facebook",
           "kind": "facebook_page"}


class Transaction:
    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[None]:
        yield


class Sessions:
    def __call__(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        return contextlib.nullcontext(Transaction())  # type: ignore[return-value]


class Inbox:
    def __init__(self) -> None:
        self.seen: set[uuid.UUID] = set()

    async def claim(self, _: Any, event_id: uuid.UUID, __: str) -> bool:
        first = event_id not in self.seen
        self.seen.add(event_id)
        return first


class Consuming:
    def __init__(self) -> None:
        self.broker = ServiceBroker("amqp://guest:guest@127.0.0.1:5672/", Topology("unit", "testing"))
        self.consumer = Consumer(self.broker, Sessions(), Inbox())  # type: ignore[arg-type]
        self.handled: list[tuple[str, Any, Envelope]] = []
        self.dead: list[str] = []

        @self.consumer.on(AccountConnected)
        async def connected(event: AccountConnected, envelope: Delivered, session: Session) -> None:
            self.handled.append(("connected", event, envelope))

        @self.consumer.on(PlatformWebhook, "webhook.meta.permissions.#")
        async def permissions(webhook: PlatformWebhook, envelope: Delivered) -> None:
            self.handled.append(("permissions", webhook, envelope))

        async def dead_letter(_: Any, reason: str) -> None:
            self.dead.append(reason)
        self.broker.publish_dead_letter = dead_letter  # type: ignore[method-assign]

    async def deliver(self, body: bytes) -> None:
        topology = self.broker.topology
        async with TestRabbitBroker(self.broker.broker) as broker:
            await broker.publish(body, queue=topology.service_queue(), exchange=topology.events_exchange())


@pytest.fixture
def consuming() -> Consuming:
    return Consuming()


async def test_an_event_reaches_its_handler_decoded_into_its_model_with_its_envelope(consuming: Consuming) -> None:
    envelope = Envelope(type=AccountConnected.type, producer="tests", data={**ACCOUNT, "reconnected": True})
    await consuming.deliver(envelope.model_dump_json().encode())
    [(name, event, delivered)] = consuming.handled
    assert name == "connected"
    assert isinstance(event, AccountConnected)
    assert event.reconnected is True
    assert str(event.account_id) == ACCOUNT["account_id"]
    assert delivered == envelope


async def test_a_prefix_subscription_takes_every_type_under_it(consuming: Consuming) -> None:
    webhook = {"delivery_id": str(uuid.uuid4()), "provider": "meta", "event": {"field": "email"}}
    await consuming.deliver(Envelope(type="webhook.meta.permissions.email", producer="tests",
                                     data=webhook).model_dump_json().encode())
    [(name, event, _)] = consuming.handled
    assert name == "permissions"
    assert event.event == {"field": "email"}


async def test_a_redelivered_event_is_not_handled_again(consuming: Consuming) -> None:
    body = Envelope(type=AccountConnected.type, producer="tests", data=ACCOUNT).model_dump_json().encode()
    await consuming.deliver(body)
    await consuming.deliver(body)
    assert len(consuming.handled) == 1
    assert consuming.dead == []


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "unreadable envelope"),
    (Envelope(type="account.renamed", producer="tests", data={}).model_dump_json().encode(),
     "no handler for the event type account.renamed"),
    (Envelope(type=AccountConnected.type, producer="tests", data={"account_id": "nope"}).model_dump_json().encode(),
     "data does not match account.connected"),
])
async def test_what_no_delivery_could_handle_goes_to_the_dead_letters_with_its_reason(
        consuming: Consuming, body: bytes, reason: str) -> None:
    await consuming.deliver(body)
    assert consuming.handled == []
    [dead] = consuming.dead
    assert dead.startswith(reason)


class Clock:
    def __init__(self, now: str) -> None:
        self.now = now


class Sandwich(Clock):
    pass


def declared_consumer(subscriptions: Subscriptions) -> tuple[ServiceBroker, Consumer]:
    broker = ServiceBroker("amqp://guest:guest@127.0.0.1:5672/", Topology("unit", "declared"))
    return broker, Consumer(broker, Sessions(), Inbox(), subscriptions)  # type: ignore[arg-type]


async def test_declared_handlers_get_what_the_service_provided_by_its_type() -> None:
    seen: list[str] = []
    subscriptions = Subscriptions()
    subscriptions.publishes(AccountConnected)

    @subscriptions.on(AccountConnected)
    async def connected(event: AccountConnected, clock: Annotated[Clock, Provided()]) -> None:
        seen.append(clock.now)
    broker, consumer = declared_consumer(subscriptions)
    with pytest.raises(RuntimeError, match="needs a Clock, which the service did not provide"):
        consumer.check_provided()
    consumer.provide(Sandwich("noon"))  # a subclass serves a handler asking for its base
    consumer.check_provided()
    topology = broker.topology
    async with TestRabbitBroker(broker.broker) as test_broker:
        await test_broker.publish(Envelope(type=AccountConnected.type, producer="tests", data=ACCOUNT)
                                  .model_dump_json().encode(), queue=topology.service_queue(),
                                  exchange=topology.events_exchange())
    assert seen == ["noon"]
    assert broker.bindings == [AccountConnected.type]
