"""Starting and stopping the whole system as processes: used by `make run`, the tests and the benchmarks."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx

from sandbox import base_urls, media_host_environment
from shared.migrations import SCHEMA_SERVICES, upgrade

ROOT = Path(__file__).resolve().parent.parent
SERVICE_MODULES = {name: f"services.{name}" for name in (*SCHEMA_SERVICES, "gateway")}
SANDBOX = "sandbox"


class InfrastructureDown(RuntimeError):
    pass


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(_plain_dsn(url))
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


async def check_postgres(url: str) -> None:
    try:
        conn = await asyncpg.connect(with_database(url, "postgres"), timeout=5)
        await conn.close()
    except Exception as exc:
        host = urlsplit(url).netloc.rsplit("@", 1)[-1]
        raise InfrastructureDown(
            f"Postgres is not reachable at {host} ({type(exc).__name__}). Start it "
            "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or docker compose up -d "
            "postgres) or set POSTIFYS_DATABASE_URL.") from None


async def check_rabbitmq(url: str) -> None:
    try:
        conn = await aio_pika.connect(url, timeout=5)
        await conn.close()
    except Exception as exc:
        host = urlsplit(url).netloc.rsplit("@", 1)[-1]
        raise InfrastructureDown(
            f"RabbitMQ is not reachable at {host} ({type(exc).__name__}). Start it (rabbitmq-server -detached, "
            "or docker compose up -d rabbitmq) or set POSTIFYS_AMQP_URL.") from None


async def create_database(url: str) -> None:
    name = database_name(url)
    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=5)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
    finally:
        await conn.close()


def prepare_database(url: str) -> None:
    """Creates the database if missing and brings every service schema to its newest migration."""
    asyncio.run(check_postgres(url))
    asyncio.run(create_database(url))
    for service in SCHEMA_SERVICES:
        upgrade(service, url)


_handed_out: set[int] = set()
_ports = random.SystemRandom()  # not the seedable global one: parallel runs must not draw the same ports


def free_port() -> int:
    """A port below Linux's ephemeral range (32768+): a port the kernel picked for us could be handed to some
    outgoing connection before our server binds it. Never the same port twice in one process."""
    while True:
        port = _ports.randint(20000, 32000)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def isolated_environment(*, database_url: str, amqp_url: str, smtp_url: str, prefix: str,
                         extra: dict[str, str] | None = None) -> dict[str, str]:
    """Everything a separate copy of the system needs: its own ports, database, broker prefix and secret."""
    gateway_port = free_port()
    sandbox_url = f"http://127.0.0.1:{free_port()}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("POSTIFYS_")},
        "POSTIFYS_ENV": "test",
        "POSTIFYS_LOG_FORMAT": "json",
        "POSTIFYS_PORT": str(gateway_port),
        "POSTIFYS_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
        "POSTIFYS_DATABASE_URL": database_url,
        "POSTIFYS_AMQP_URL": amqp_url,
        "POSTIFYS_AMQP_PREFIX": prefix,
        "POSTIFYS_SMTP_URL": smtp_url,
        "POSTIFYS_INTERNAL_SECRET": secrets.token_urlsafe(32),
        "POSTIFYS_TRUSTED_PROXIES": '["127.0.0.1"]',
        "POSTIFYS_SANDBOX": "1",
        "POSTIFYS_SANDBOX_URL": sandbox_url,
        **base_urls(sandbox_url), **media_host_environment(sandbox_url),
        **{f"POSTIFYS_{name.upper()}_URL": f"http://127.0.0.1:{free_port()}" for name in SCHEMA_SERVICES},
        **(extra or {}),
    }


def resident_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class System:
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, names: tuple[str, ...] = tuple(SERVICE_MODULES)) -> None:
        for name in names:
            self.start_one(name)

    def start_one(self, name: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", SERVICE_MODULES.get(name, name)], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def url(self, name: str) -> str:
        if name == "gateway":
            return f"http://127.0.0.1:{self.env.get('POSTIFYS_PORT', '8000')}"
        return self.env.get(f"POSTIFYS_{name.upper()}_URL", "")

    def start_all(self, *, with_sandbox: bool) -> tuple[str, ...]:
        names = (*((SANDBOX,) if with_sandbox else ()), *SERVICE_MODULES)
        self.start(names)
        return names

    def wait_ready(self, timeout: float = 60, names: tuple[str, ...] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = set(names or self.processes)
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / name}.log")
                try:
                    if httpx.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready in {timeout}s: {', '.join(sorted(pending))}; logs in {self.log_dir}")
            if pending:
                time.sleep(0.2)

    def stop_one(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_one(name)

    def first_exited(self) -> str | None:
        return next((n for n, p in self.processes.items() if p.poll() is not None), None)
