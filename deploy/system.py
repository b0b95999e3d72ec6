"""Starting and stopping the whole system as processes: used by `make run`, the tests and the benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, overload
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from sandbox import base_urls, media_host_environment
from services.media.settings import development_signing_key
from shared.internal import derived_environment
from shared.messaging.broker import broker_reachable
from shared.migrations import SCHEMA_SERVICES, upgrade
from shared.settings import PostifysSettings

ROOT = Path(__file__).resolve().parent.parent
SERVICE_MODULES = {name: f"services.{name}" for name in (*SCHEMA_SERVICES, "gateway")}
SANDBOX = "sandbox"
DEVMAIL = "devmail"
MODULES = {**SERVICE_MODULES, SANDBOX: "sandbox", DEVMAIL: "deploy.devmail"}


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
        await broker_reachable(url)
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
        "POSTIFYS_METRICS_PORT": str(free_port()),
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


DEVELOPMENT_ROOT = ROOT / ".run" / "internal-secret"


def development_root(path: Path = DEVELOPMENT_ROOT) -> str:
    """`make run`'s root secret, made once and kept (owner-only), so that privacy's keyed hashes stay valid across
    starts and the operator's tools can sign as the operator of this machine's system."""
    with contextlib.suppress(FileNotFoundError):
        if (kept := path.read_text().strip()):
            return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    root = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(root)
    return root


def operator_settings(env: Mapping[str, str] = os.environ) -> PostifysSettings:
    """The settings the operator's tools sign with: outside production, with nothing given, those of the system
    `make run` started on this machine."""
    settings = settings_from(env)
    given = {"POSTIFYS_INTERNAL_SIGNING_KEY", "POSTIFYS_INTERNAL_SECRET"} & set(env)
    if settings.is_production or given or not DEVELOPMENT_ROOT.exists():
        return settings
    return settings_from({**env, "POSTIFYS_INTERNAL_SECRET": development_root()})


def process_environment(env: Mapping[str, str], name: str) -> dict[str, str]:
    """One process's environment: a development root secret is replaced by that process's own internal key
    (and the callers' public keys), so no process can sign as another."""
    root = env.get("POSTIFYS_INTERNAL_SECRET")
    if root is None or "POSTIFYS_INTERNAL_PUBLIC_KEYS" in env:
        return dict(env)
    own = {k: v for k, v in env.items() if k != "POSTIFYS_INTERNAL_SECRET"}
    if name == "media" and "POSTIFYS_MEDIA_SIGNING_KEY" not in env:
        own["POSTIFYS_MEDIA_SIGNING_KEY"] = development_signing_key(root)
    return {**own, **derived_environment(root, name)}


def resident_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


S = TypeVar("S", bound=BaseSettings)
_given_env: ContextVar[Mapping[str, str]] = ContextVar("given_env")


class _GivenEnv(EnvSettingsSource):
    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {(k if self.case_sensitive else k.lower()): v for k, v in _given_env.get().items()}


class _ReadsGivenEnv(BaseSettings):
    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_GivenEnv(settings_cls),)


@functools.cache
def _reading_given_env(cls: type[BaseSettings]) -> type[BaseSettings]:
    return type(cls.__name__, (_ReadsGivenEnv, cls), {})


@overload
def settings_from(env: Mapping[str, str]) -> PostifysSettings: ...
@overload
def settings_from(env: Mapping[str, str], cls: type[S]) -> S: ...
def settings_from(env: Mapping[str, str], cls: type[BaseSettings] = PostifysSettings) -> BaseSettings:
    """The settings a process started with `env` reads, so that whoever starts the system and the services it
    starts agree on every address (the defaults live in the settings, nowhere else)."""
    token = _given_env.set(env)
    try:
        return _reading_given_env(cls)()
    finally:
        _given_env.reset(token)


PR_SET_PDEATHSIG = 1


def _die_with(parent: int, prctl: Callable[..., int]) -> None:
    """Runs in the child between fork and exec: the kernel kills it when the thread that forked it ends (so even
    a SIGKILLed runner takes its services with it); if that parent is already gone, it must not start at all."""
    if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
        os._exit(1)


def _connectable(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host  # noqa: S104


@dataclass
class System:
    """The processes of one system. Each runs in a process group of its own (a terminal's Ctrl-C reaches only
    whoever started them, who decides how they stop) and dies with the thread that started it."""

    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, names: tuple[str, ...] = tuple(SERVICE_MODULES)) -> None:
        for name in names:
            self.start_one(name)

    def start_one(self, name: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # The kernel ties the death signal to the thread that forks, not the process: only the main thread lives
        # as long as the process does.
        die_with_parent = None
        if sys.platform == "linux" and threading.current_thread() is threading.main_thread():
            die_with_parent = functools.partial(_die_with, os.getpid(), ctypes.CDLL(None, use_errno=True).prctl)
        with self.log_path(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", MODULES.get(name, name)], cwd=ROOT, env=process_environment(self.env, name),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def url(self, name: str) -> str:
        settings = settings_from(self.env)
        if name == "gateway":
            return f"http://{_connectable(settings.host)}:{settings.port}"
        if name == SANDBOX:
            return settings.sandbox_url
        if name == DEVMAIL:
            return settings.devmail_url
        if name not in SCHEMA_SERVICES:
            raise KeyError(name)
        return str(getattr(settings, f"{name}_url"))

    def start_all(self, *, with_sandbox: bool) -> tuple[str, ...]:
        names = (*((SANDBOX,) if with_sandbox else ()), *SERVICE_MODULES)
        self.start(names)
        return names

    def is_ready(self, name: str, timeout: float = 2) -> bool:
        try:
            return httpx.get(f"{self.url(name)}/readyz", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 60, names: tuple[str, ...] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = set(names or self.processes)
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_path(name)}")
                if self.is_ready(name):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready in {timeout}s: {', '.join(sorted(pending))}; logs in {self.log_dir}")
            if pending:
                time.sleep(0.2)

    def send(self, sig: int, names: Iterable[str] | None = None) -> None:
        """Sends `sig` to the process group of each running one; never waits, so a signal handler may call it."""
        for name in list(self.processes) if names is None else names:
            process = self.processes.get(name)
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)

    def stop_one(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        self.stop((name,), sig=sig, timeout=timeout)

    def stop(self, names: Iterable[str] | None = None, *, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        """Signals them all at once, waits for them together until one deadline, then kills what is left."""
        chosen = list(self.processes) if names is None else list(names)
        self.send(sig, chosen)
        deadline = time.monotonic() + timeout
        while self.alive(chosen) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.send(signal.SIGKILL, chosen)
        for name in chosen:
            if (process := self.processes.get(name)) is not None:
                process.wait()

    def kill(self) -> None:
        self.send(signal.SIGKILL)

    def alive(self, names: Iterable[str] | None = None) -> list[str]:
        return [name for name in (list(self.processes) if names is None else names)
                if (process := self.processes.get(name)) is not None and process.poll() is None]

    def first_exited(self) -> str | None:
        return next((n for n, p in self.processes.items() if p.poll() is not None), None)
