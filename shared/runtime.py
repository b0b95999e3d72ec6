"""One service process: its engine, its outbox, its broker and consumer, and its background loops (the outbox relay
first). How it is served over HTTP is in shared.http."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import database_reachable, make_engine, make_sessionmaker
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer, Subscriptions
from shared.messaging.outbox import Inbox, Outbox
from shared.messaging.relay import run_relay
from shared.messaging.topology import Topology
from shared.migrations import current_revision, head_revision
from shared.settings import ServiceSettings, refuse_misconfigured

log = structlog.get_logger()


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, metadata: sa.MetaData,
                 subscriptions: Subscriptions | None = None) -> None:
        refuse_misconfigured(settings)
        self.settings = settings
        self.service = settings.service_name
        self.engine = make_engine(settings.service_database_url, service=self.service)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.outbox = Outbox(metadata.tables[f"{self.service}.outbox"], producer=self.service)
        self.inbox = Inbox(metadata.tables[f"{self.service}.inbox"])
        self.broker = ServiceBroker(settings.amqp_url, Topology(settings.amqp_prefix, self.service))
        # The service's handlers (its handlers module), each typed by its event model; what they use beyond the
        # session and the envelope the service provides once it has built it.
        self.consumer = Consumer(self.broker, self.sessionmaker, self.inbox, subscriptions)
        self.consumer.provide(self, self.outbox, settings)
        self.head = head_revision(self.service)
        self._relay_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._closers: list[Callable[[], Awaitable[Any]]] = []

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on error, then wakes the outbox relay."""
        async with self.sessionmaker() as session, session.begin():
            yield session
        self._relay_wake.set()

    def provide(self, *dependencies: Any) -> None:
        """Objects the handlers name with `Provided()` (a service, a mailer), found by their type."""
        self.consumer.provide(*dependencies)

    def spawn(self, coro: Any) -> None:
        self._tasks.append(asyncio.create_task(coro))

    def in_background(self, start: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A loop to run from startup to shutdown, beside the outbox relay."""
        self._background.append(start)

    def on_shutdown(self, close: Callable[[], Awaitable[Any]]) -> None:
        """Something to close after the loops stop (a pooled HTTP client)."""
        self._closers.append(close)

    async def readiness(self) -> dict[str, bool]:
        database = await database_reachable(self.engine)
        migrated = False
        if database:
            with contextlib.suppress(Exception):
                migrated = await current_revision(self.engine, self.service) == self.head
        return {"database": database, "migrations": migrated, "broker": await self.broker.ready()}

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        self.consumer.check_provided()
        await self.broker.start()
        self.spawn(run_relay(self.broker, self.sessionmaker, self.outbox.table, self._relay_wake))
        for start in self._background:
            self.spawn(start())
        log.info("Service started", port=self.settings.listen_port)
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(BaseException):
                    await task
            for close in self._closers:
                try:
                    await close()
                except Exception:
                    log.exception("Closing on shutdown failed")
            await self.broker.close()
            await self.engine.dispose()



async def repeat(interval: float, work: Callable[[], Awaitable[Any]], failure: str, *,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
    """Runs `work` every `interval` seconds until cancelled; a failed round is logged and the next one still runs."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(failure)
        await sleep(interval)


