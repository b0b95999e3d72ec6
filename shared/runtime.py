"""One service process: its engine, its broker and consumer, its outbox relay, and how it is served."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import database_reachable, make_engine, make_sessionmaker
from shared.errors import Forbidden, Unauthorized
from shared.internal import (
    EMAIL_VERIFIED_HEADER,
    INTERNAL_SECRET_HEADER,
    SESSION_HEADER,
    USER_HEADER,
    Caller,
    Verifier,
    allowed_callers,
    parse_public_keys,
    signed_target,
)
from shared.logging import configure_logging
from shared.messaging.broker import ServiceBroker
from shared.messaging.consumer import Consumer
from shared.messaging.outbox import Inbox, Outbox
from shared.messaging.relay import run_relay
from shared.messaging.topology import Topology
from shared.migrations import current_revision, head_revision
from shared.settings import PostifysSettings, ServiceSettings, refuse_misconfigured
from shared.web import MAX_BODY_BYTES, create_http_app

log = structlog.get_logger()


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, metadata: sa.MetaData) -> None:
        refuse_misconfigured(settings)
        self.settings = settings
        self.service = settings.service_name
        self.engine = make_engine(settings.service_database_url, service=self.service)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.outbox = Outbox(metadata.tables[f"{self.service}.outbox"], producer=self.service)
        self.inbox = Inbox(metadata.tables[f"{self.service}.inbox"])
        self.broker = ServiceBroker(settings.amqp_url, Topology(settings.amqp_prefix, self.service))
        # Where the service's handlers register (its handlers module), before the broker starts.
        self.consumer = Consumer(self.broker, self.sessionmaker, self.inbox)
        self.head = head_revision(self.service)
        self.verifier = Verifier(self.service, parse_public_keys(settings.caller_public_keys()))
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

    async def require_internal(self, request: Request) -> None:
        """Every route of a service: a valid signature, over the request and its body, from a caller that this
        route names."""
        target = signed_target(request.scope.get("raw_path", request.url.path.encode()).decode("latin-1"),
                               request.scope.get("query_string", b"").decode("latin-1"))
        caller = self.verifier.caller(request.headers.get(INTERNAL_SECRET_HEADER), request.method, target,
                                      request.headers, await request.body())
        route = request.scope.get("route")
        if caller is None or route is None or caller not in allowed_callers(route.endpoint, route.path):
            raise Forbidden("Internal endpoint.", code="internal_only")


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


def create_service_app(runtime: ServiceRuntime, *, routers: list[APIRouter] | tuple[APIRouter, ...] = (),
                       max_body: int = MAX_BODY_BYTES) -> FastAPI:
    """A service's FastAPI app: health, metrics, the error shape, and its routers behind signed internal calls."""
    app = create_http_app(title=f"Postifys {runtime.service}", readiness=runtime.readiness, lifespan=runtime.lifespan,
                          max_body=max_body)
    for router in routers:
        app.include_router(router, dependencies=[Depends(runtime.require_internal)])
    for route in app.routes:
        path = str(getattr(route, "path", ""))
        if path.startswith("/internal") and not allowed_callers(getattr(route, "endpoint", None), path):
            raise RuntimeError(f"{runtime.service}: {path} names no caller (shared.internal.callers)")
    app.state.runtime = runtime
    return app


def caller_from_headers(request: Request) -> Caller | None:
    user = request.headers.get(USER_HEADER)
    if not user:
        return None
    session = request.headers.get(SESSION_HEADER)
    return Caller(user_id=uuid.UUID(user), session_id=uuid.UUID(session) if session else None,
                  email_verified=request.headers.get(EMAIL_VERIFIED_HEADER) == "1")


def require_caller(request: Request) -> Caller:
    caller = caller_from_headers(request)
    if caller is None:
        raise Unauthorized()
    return caller


def require_verified_caller(caller: Annotated[Caller, Depends(require_caller)]) -> Caller:
    if not caller.email_verified:
        raise Forbidden("Verify your email address first.", code="email_not_verified")
    return caller


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    configure_logging(service=settings.service_name, level=settings.log_level, json=json_logs(settings))
    # Idle connections stay open longer than any caller's pool keeps them (httpx: 5 s), so a caller never sends
    # a request on a connection this side is closing at that moment.
    config = uvicorn.Config(app, host=settings.host, port=settings.listen_port, log_config=None, access_log=False,
                            server_header=False, timeout_graceful_shutdown=5, timeout_keep_alive=75)
    # The port first, then the app: a taken port ends the process at once, before the bus connection starts
    # (whose reconnect loop would otherwise keep a failed process from ever exiting).
    uvicorn.Server(config).run(sockets=[config.bind_socket()])


def json_logs(settings: PostifysSettings) -> bool:
    return settings.log_format == "json" or (settings.log_format == "auto" and settings.env != "development")
