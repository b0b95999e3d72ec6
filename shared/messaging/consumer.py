"""The consuming side of a service: its handlers as FastStream subscriber calls on the service's queue, each typed
by its event model, and the middleware that makes every delivery safe to repeat.

For each delivery, `EventConsumption`:
- reads the envelope once and binds its correlation id, event id and type to the log lines;
- claims the event in the inbox and runs the handler in one transaction, then acks: a redelivery changes nothing;
- on a handler failure, rolls back and hands the message back to the queue, whose delivery limit dead-letters it;
- sends what no delivery could ever handle (an unreadable body, data that does not fit the model, a type no
  handler takes) straight to the dead-letter queue with the reason, and goes on with the next message."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import aio_pika
import structlog
from faststream import AckPolicy, BaseMiddleware
from faststream.exceptions import SubscriberNotFound
from faststream.message import StreamMessage
from faststream.rabbit.subscriber import RabbitSubscriber
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import Envelope, EventData
from shared.messaging import metrics
from shared.messaging.broker import ServiceBroker
from shared.messaging.outbox import Inbox, Outbox
from shared.messaging.topology import DELIVERY_LIMIT

log = structlog.get_logger()

class Injected:
    """Marks a handler parameter that the consumer fills in itself. Not FastStream's `Context`: FastDepends solves
    that in a worker thread, a hop per parameter and message, which halves what a service consumes per second."""

    def __init__(self, name: str) -> None:
        self.name = name


Session = Annotated[AsyncSession, Injected("session")]
"""The transaction the inbox claim is in: a handler writes (and outboxes) through it."""
Delivered = Annotated[Envelope, Injected("envelope")]
"""The envelope around the event: its id, occurrence time and correlation id."""


class Provided:
    """Marks a handler parameter filled with what the service provided of that type (`ServiceRuntime.provide`):
    `Annotated[PostService, Provided()]`. A service's handlers are declared before the objects they use exist."""


ServiceOutbox = Annotated[Outbox, Provided()]
"""The service's outbox, for a handler's events (written through its `Session`)."""

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])


@dataclass(frozen=True)
class Subscription:
    model: type[EventData]
    types: tuple[str, ...]
    handler: Callable[..., Awaitable[None]]


class Subscriptions:
    """A service's handlers and the events it writes to its outbox, declared where they are written (its handlers
    module) and given to its runtime whole."""

    def __init__(self, *parts: Subscriptions) -> None:
        self.handlers: list[Subscription] = [h for part in parts for h in part.handlers]
        self.published: list[tuple[type[EventData], str | None]] = [p for part in parts for p in part.published]

    def on(self, model: type[EventData], *event_types: str) -> Callable[[Handler], Handler]:
        """A handler for `model`'s type (or for `event_types`: a key ending in `.#` takes every type under that
        prefix, as it is bound); the event's data arrives decoded into `model`."""
        def register(handler: Handler) -> Handler:
            self.handlers.append(Subscription(model, event_types or (model.type,), handler))
            return handler
        return register

    def publishes(self, model: type[EventData], routing_key: str | None = None) -> None:
        self.published.append((model, routing_key))

# The envelope of the delivery being handled, for the subscriber's filters and decoder (which see only the message).
_delivered: contextvars.ContextVar[Envelope | None] = contextvars.ContextVar("postifys_delivered", default=None)
_session: contextvars.ContextVar[AsyncSession | None] = contextvars.ContextVar("postifys_session", default=None)


class Consumer:
    def __init__(self, broker: ServiceBroker, sessionmaker: async_sessionmaker[AsyncSession], inbox: Inbox,
                 subscriptions: Subscriptions | None = None) -> None:
        self.broker = broker
        self.sessionmaker = sessionmaker
        self.inbox = inbox
        self.models: dict[str, type[EventData]] = {}
        self.provided: dict[type, Any] = {}
        self._needed: dict[type, str] = {}
        self._subscriber: RabbitSubscriber | None = None
        broker.broker.add_middleware(functools.partial(EventConsumption, consumer=self))
        for subscription in (subscriptions.handlers if subscriptions else ()):
            self.on(subscription.model, *subscription.types)(subscription.handler)
        for model, routing_key in (subscriptions.published if subscriptions else ()):
            broker.publishes(model, routing_key)

    def on(self, model: type[EventData], *event_types: str) -> Callable[[Handler], Handler]:
        """Registers a handler for `model`'s type (or for `event_types`, as `Subscriptions.on`)."""
        types = event_types or (model.type,)

        def register(handler: Handler) -> Handler:
            self.subscriber(typed(handler, model, self), filter=delivered_as(types))
            self.broker.bindings.extend(types)
            self.models.update(dict.fromkeys(types, model))
            return handler
        return register

    def provide(self, *dependencies: Any) -> None:
        """What handlers name with `Provided()`, found by their type."""
        for dependency in dependencies:
            for kind in type(dependency).__mro__[:-1]:  # a handler may name a base class
                self.provided.setdefault(kind, dependency)

    def check_provided(self) -> None:
        """Before consuming: a handler whose dependency is missing would fail every delivery."""
        missing = {kind: handler for kind, handler in self._needed.items() if kind not in self.provided}
        if missing:
            raise RuntimeError("; ".join(f"{handler} needs a {kind.__name__}, which the service did not provide"
                                         for kind, handler in missing.items()))

    @property
    def subscriber(self) -> RabbitSubscriber:
        if self._subscriber is None:
            topology = self.broker.topology
            self._subscriber = self.broker.broker.subscriber(
                topology.service_queue(), topology.events_exchange(), ack_policy=AckPolicy.MANUAL, no_reply=True,
                decoder=event_data, title=f"{topology.service}",
                description=f"The {topology.service} service's queue: every event it consumes.")
        return self._subscriber

    async def apply(self, envelope: Envelope, handle: Callable[[AsyncSession], Awaitable[Any]]) -> bool:
        """True when this delivery was the event's first; a duplicate is acknowledged without running anything."""
        async with self.sessionmaker() as session, session.begin():
            if not await self.inbox.claim(session, envelope.event_id, envelope.type):
                return False
            await handle(session)
        return True


# Filter and decoder are coroutines: FastStream runs plain functions in a worker thread, a hop per message.
def typed(handler: Callable[..., Awaitable[None]], model: type[EventData],
          consumer: Consumer) -> Callable[[Any], Awaitable[None]]:
    """The call FastStream subscribes: it takes the event decoded into `model`, and hands the handler that and
    whatever else it names (`Session`, `Delivered`, what the service `Provided`)."""
    hints = typing.get_type_hints(handler, include_extras=True)
    injected: dict[str, str] = {}
    provided: dict[str, type] = {}
    for parameter, hint in hints.items():
        for marker in getattr(hint, "__metadata__", ()):
            if isinstance(marker, Injected):
                injected[parameter] = marker.name
            elif isinstance(marker, Provided):
                provided[parameter] = typing.get_args(hint)[0]
                consumer._needed.setdefault(provided[parameter], handler.__qualname__)
    [event_parameter] = [p for p in inspect.signature(handler).parameters if p not in injected and p not in provided]
    dependencies = consumer.provided

    async def deliver(event: Any) -> None:
        available = {"session": _session.get(), "envelope": _delivered.get()}
        await handler(**{event_parameter: event}, **{p: available[name] for p, name in injected.items()},
                      **{p: dependencies[kind] for p, kind in provided.items()})
    deliver.__annotations__ = {"event": model, "return": None}
    deliver.__name__, deliver.__qualname__, deliver.__doc__ = handler.__name__, handler.__qualname__, handler.__doc__
    return deliver


def delivered_as(types: Iterable[str]) -> Callable[[StreamMessage[Any]], Awaitable[bool]]:
    keys = tuple(types)
    exact = {key for key in keys if not key.endswith(".#")}
    prefixes = tuple(key[:-1] for key in keys if key.endswith(".#"))

    async def accepts(_: StreamMessage[Any]) -> bool:
        envelope = _delivered.get()
        return envelope is not None and (envelope.type in exact or envelope.type.startswith(prefixes))
    return accepts


async def event_data(_: StreamMessage[Any]) -> Any:
    """The body a handler's event model is validated from: the envelope's data."""
    envelope = _delivered.get()
    return envelope.data if envelope else None


class EventConsumption(BaseMiddleware):
    def __init__(self, msg: aio_pika.abc.AbstractIncomingMessage, /, *, context: Any, consumer: Consumer) -> None:
        super().__init__(msg, context=context)
        self.raw = msg
        self.consumer = consumer
        self.envelope: Envelope | None = None
        self.unreadable: str | None = None

    async def on_receive(self) -> None:
        try:
            self.envelope = Envelope.model_validate_json(self.raw.body)
        except ValidationError as exc:
            self.unreadable = f"unreadable envelope: {str(exc)[:500]}"
        self._delivered = _delivered.set(self.envelope)
        self._logging = structlog.contextvars.bind_contextvars(
            correlation_id=self.envelope.correlation_id, event_id=str(self.envelope.event_id),
            event_type=self.envelope.type) if self.envelope else {}

    async def after_processed(self, exc_type: type[BaseException] | None = None,
                              exc_val: BaseException | None = None, exc_tb: Any = None) -> bool | None:
        try:
            if exc_val is None:
                return False
            if isinstance(exc_val, SubscriberNotFound):
                await self.dead_letter(self.unreadable or f"no handler for the event type {self.event_type}")
            else:
                log.error("Event consumption failed", error=repr(exc_val)[:500])
                await self.raw.nack(requeue=True)
            return True
        finally:
            structlog.contextvars.reset_contextvars(**self._logging)
            _delivered.reset(self._delivered)

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
        envelope = self.envelope
        assert envelope is not None  # the subscriber's filters took it

        async def handle(session: AsyncSession) -> Any:
            token = _session.set(session)
            try:
                return await call_next(msg)
            finally:
                _session.reset(token)
        try:
            first_time = await self.consumer.apply(envelope, handle)
        except ValidationError as exc:
            await self.dead_letter(f"data does not match {envelope.type}: {str(exc)[:500]}")
            return None
        except Exception:
            await self.retry_later()
            return None
        await self.raw.ack()
        outcome = "applied" if first_time else "duplicate"
        metrics.consumed(envelope.type, outcome, envelope.occurred_at)
        log.info("Event consumed", outcome=outcome)
        return None

    async def retry_later(self) -> None:
        deliveries = delivery_count(self.raw) + 1
        log.exception("Event handler failed", delivery=deliveries, delivery_limit=DELIVERY_LIMIT)
        metrics.consumed(self.event_type, "failed")
        # A short pause keeps a failing handler from spinning through its deliveries at once.
        await asyncio.sleep(min(0.2 * deliveries, 2))
        await self.raw.nack(requeue=True)

    async def dead_letter(self, reason: str) -> None:
        log.error("Message sent to dead letters", reason=reason, message_id=self.raw.message_id)
        metrics.consumed(self.event_type, "unreadable")
        try:
            await self.consumer.broker.publish_dead_letter(self.raw, reason)
        except Exception:
            log.exception("Dead-lettering failed; the message goes back to the queue")
            await self.raw.nack(requeue=True)
            return
        await self.raw.ack()

    @property
    def event_type(self) -> str:
        return self.envelope.type if self.envelope else (self.raw.type or "unknown")


def delivery_count(message: aio_pika.abc.AbstractIncomingMessage) -> int:
    count = (message.headers or {}).get("x-delivery-count")
    return count if isinstance(count, int) else 0
