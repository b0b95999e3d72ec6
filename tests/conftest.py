"""The whole system for the tests: a fresh database and broker prefix per run, every service as its own
process, a real SMTP server in this process. Uses POSTIFYS_DATABASE_URL / POSTIFYS_AMQP_URL when given (or the
local defaults); with Docker and no URLs, testcontainers provides Postgres and RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from deploy.devmail import Mailbox, start_smtp
from deploy.system import (
    System,
    database_name,
    drop_database,
    free_port,
    isolated_environment,
    prepare_database,
    with_database,
)
from shared.messaging.dead_letters import delete_topology
from shared.migrations import SCHEMA_SERVICES
from tests.support import Stack

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@contextlib.contextmanager
def infrastructure() -> Iterator[tuple[str, str]]:
    database_url = os.environ.get("POSTIFYS_DATABASE_URL")
    amqp_url = os.environ.get("POSTIFYS_AMQP_URL")
    docker = shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    if database_url or amqp_url or not docker:
        yield database_url or DEFAULT_DATABASE_URL, amqp_url or DEFAULT_AMQP_URL
        return
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    with PostgresContainer("postgres:16", driver=None) as pg, RabbitMqContainer("rabbitmq:3.13") as mq:
        yield (pg.get_connection_url(),
               f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/")


# Short waits so the suite runs in seconds; the behaviour is the same as with production values.
FAST_PUBLISHING = {
    "POSTIFYS_PROCESSING_POLL_SECONDS": "0.3",
    "POSTIFYS_WORKER_POLL_SECONDS": "0.2",
    "POSTIFYS_PLATFORM_TIMEOUT_SECONDS": "3",
    "POSTIFYS_LEASE_SECONDS": "8",
    "POSTIFYS_MEDIA_FETCH_DEADLINE_SECONDS": "20",
    # The chaos test creates 500 posts for one person in seconds; the quotas' own test lowers them again.
    "POSTIFYS_POSTS_PER_MINUTE": "100000",
    "POSTIFYS_POSTS_PER_HOUR": "100000",
}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with started_stack() as started:
        yield started


@contextlib.contextmanager
def started_stack() -> Iterator[Stack]:
    """A whole system of its own: database, broker prefix, ports, mailbox."""
    run_id = secrets.token_hex(4)
    with infrastructure() as (server_url, amqp_url):
        database_url = with_database(server_url, f"postifys_test_{run_id}")
        prepare_database(database_url)
        mailbox = Mailbox()
        smtp_port = free_port()
        smtp = start_smtp(mailbox, "127.0.0.1", smtp_port)
        prefix = f"postifys-test-{run_id}"
        env = isolated_environment(database_url=database_url, amqp_url=amqp_url,
                                   smtp_url=f"smtp://127.0.0.1:{smtp_port}", prefix=prefix, extra=FAST_PUBLISHING)
        env["POSTIFYS_TIKTOK_VERIFIED_URL_PREFIXES"] = json.dumps([f"{env['POSTIFYS_SANDBOX_URL']}/_sandbox/media/"])
        log_dir = Path(tempfile.mkdtemp(prefix=f"postifys-test-{run_id}-"))
        env["POSTIFYS_MEDIA_STORAGE_URL"] = (log_dir / "media").as_uri()
        system = System(env=env, log_dir=log_dir)
        try:
            system.start_all(with_sandbox=True)
            system.wait_ready(timeout=90)
            yield Stack(gateway=system.url("gateway"), env=env, database_url=database_url,
                        amqp_url=amqp_url, prefix=prefix, mailbox=mailbox, system=system, log_dir=log_dir)
        finally:
            system.stop()
            smtp.stop()
            asyncio.run(_cleanup(database_url, amqp_url, prefix))


async def _cleanup(database_url: str, amqp_url: str, prefix: str) -> None:
    await drop_database(database_url)
    with contextlib.suppress(Exception):
        await delete_topology(amqp_url, prefix, [*SCHEMA_SERVICES, "testing"])


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-less client with an address of its own, so per-address limits never cross tests."""
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30,
                                 headers={"X-Forwarded-For": stack.new_client_ip()}) as http:
        yield http


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def new_client(stack: Stack) -> Callable[[], httpx.AsyncClient]:
    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=stack.gateway, timeout=30,
                                 headers={"X-Forwarded-For": stack.new_client_ip()})
    return make


@pytest.fixture(scope="module")
def scratch_database(stack: Stack) -> Iterator[str]:
    """A database of its own on the stack's server, migrated like the stack's, that no process uses: for tests
    that run one service's logic on an injected clock without touching other tests' rows."""
    url = with_database(stack.database_url, f"{database_name(stack.database_url)}_scratch")
    prepare_database(url)
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))
