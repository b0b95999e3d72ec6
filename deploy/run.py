"""`make run`: prepares the database, starts every service, the gateway, the platform sandbox and the development
mailbox, keeps them running (one that dies is started again, with back-off), and stops all of it on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from deploy.system import (
    DEVMAIL,
    ROOT,
    SANDBOX,
    SERVICE_MODULES,
    InfrastructureDown,
    System,
    check_rabbitmq,
    development_root,
    prepare_database,
    settings_from,
)
from sandbox import base_urls, media_host_environment
from services.identity.settings import IdentitySettings
from shared.settings import SANDBOX_CREDENTIAL_PREFIX, PostifysSettings

DEVMAIL_SMTP_PORT = 8025
READY_SECONDS = 120.0  # a cold start on a busy two-core laptop takes well under a minute
STOP_SECONDS = 10.0  # each service drains for at most 5 s


def use_sandbox(settings: PostifysSettings) -> bool:
    """On when asked, or when no real platform credentials are configured."""
    if settings.sandbox is not None:
        return settings.sandbox
    return all(str(value).startswith(SANDBOX_CREDENTIAL_PREFIX)
               for value in (settings.meta_app_id, settings.instagram_app_id, settings.tiktok_client_key))


@dataclass(frozen=True)
class Backoff:
    first: float = 0.5
    cap: float = 30.0
    # Deaths in a row without once becoming ready: a service that cannot start, not one that crashed.
    give_up_after: int = 5
    # Ready for that long, its next death is a fresh incident and waits only `first` again.
    stable_after: float = 60.0


@dataclass
class Watch:
    """What the runner knows about one service: since when it is ready, how often it died in a row before
    becoming ready, and when it is due to be started again."""

    name: str
    ready_at: float | None = None
    deaths: int = 0
    delay: float = 0.0
    restart_at: float | None = None
    restarts: int = 0

    def became_ready(self, now: float) -> None:
        self.ready_at = now
        self.deaths = 0

    def died(self, now: float, backoff: Backoff) -> bool:
        """Schedules the next start; False when it is time to give up."""
        if self.ready_at is not None and now - self.ready_at >= backoff.stable_after:
            self.delay = 0.0
        self.ready_at = None
        self.deaths += 1
        if self.deaths >= backoff.give_up_after:
            return False
        self.delay = min(self.delay * 2, backoff.cap) if self.delay else backoff.first
        self.restart_at = now + self.delay
        return True


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Starts a service again when it dies, as compose's `restart:` or Kubernetes would."""

    def __init__(self, system: System, names: list[str], say: Callable[[str], None], *,
                 stopping: Callable[[], bool], backoff: Backoff = Backoff(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.system = system
        self.stopping = stopping
        self.watches = {name: Watch(name) for name in names}
        self.say = say
        self.backoff = backoff
        self.clock = clock

    def pending(self) -> list[str]:
        return [w.name for w in self.watches.values() if w.ready_at is None]

    def tick(self) -> Watch | None:
        """One look at every service; answers the one to give up on, if any."""
        for watch in self.watches.values():
            if self.stopping():  # what dies now was stopped on purpose
                return None
            now = self.clock()
            process = self.system.processes[watch.name]
            log = self.system.log_path(watch.name)
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    watch.restart_at = None
                    watch.restarts += 1
                    self.system.start_one(watch.name)
                    self.say(f"{watch.name} started again (restart {watch.restarts}); log: {log}")
            elif (code := process.poll()) is not None:
                if not watch.died(now, self.backoff):
                    return watch
                self.say(f"{watch.name} stopped ({describe_exit(code)}); starting it again in {watch.delay:g}s; "
                         f"log: {log}")
            elif watch.ready_at is None and self.system.is_ready(watch.name, timeout=1):
                watch.became_ready(self.clock())
                if watch.restarts:
                    self.say(f"{watch.name} is ready again")
        return None


class Shutdown:
    """The first Ctrl-C (or SIGTERM, or the terminal closing) asks for a clean stop; any further one during it
    kills every process now. The handler only signals, never waits, so it is safe wherever it interrupts."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.requests = 0

    def install(self) -> None:
        signal.signal(signal.SIGINT, self.handle)
        signal.signal(signal.SIGTERM, self.handle)
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup keeps it running
            signal.signal(signal.SIGHUP, self.handle)

    @property
    def requested(self) -> bool:
        return self.requests > 0

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.requests += 1
        if self.requests > 1:
            self.system.kill()
            os.write(sys.stdout.fileno(), b"\nKilling every Postifys process now.\n")


class Output:
    """The runner's own lines: on its output and in runner.log beside the services' logs."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / "runner.log"

    def __call__(self, line: str) -> None:
        stamped = f"{datetime.now():%H:%M:%S} postifys: {line}"
        # A closed terminal (SIGHUP) must not stop the runner from stopping its services: the log still has it.
        with contextlib.suppress(OSError):
            print(stamped, flush=True)
        with self.log.open("a") as log:
            log.write(stamped + "\n")


def last_lines(path: Path, count: int = 10) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()[-count:]
    except OSError:
        return ""
    return "".join(f"    {line}\n" for line in lines)


def main() -> int:
    settings = settings_from(os.environ)
    try:
        settings.check_production()
        asyncio.run(check_rabbitmq(settings.amqp_url))
        prepare_database(settings.database_url)
    except InfrastructureDown as exc:
        print(f"postifys: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    env = dict(os.environ)
    if "POSTIFYS_INTERNAL_SECRET" not in env and not settings.is_production:
        env["POSTIFYS_INTERNAL_SECRET"] = development_root()
    names: list[str] = []
    if not settings_from(os.environ, IdentitySettings).smtp_url:
        devmail = urlsplit(settings.devmail_url)
        env.update({"POSTIFYS_SMTP_URL": f"smtp://127.0.0.1:{DEVMAIL_SMTP_PORT}",
                    "POSTIFYS_DEVMAIL": "1", "POSTIFYS_DEVMAIL_HOST": devmail.hostname or "127.0.0.1",
                    "POSTIFYS_DEVMAIL_HTTP_PORT": str(devmail.port or 80),
                    "POSTIFYS_DEVMAIL_SMTP_PORT": str(DEVMAIL_SMTP_PORT)})
        names.append(DEVMAIL)
    if sandbox := use_sandbox(settings):
        env.update({**base_urls(settings.sandbox_url), "POSTIFYS_SANDBOX_URL": settings.sandbox_url})
        env.update(media_host_environment(settings.sandbox_url))
        names.append(SANDBOX)
    names.extend(SERVICE_MODULES)
    system = System(env=env, log_dir=Path(os.environ.get("POSTIFYS_LOG_DIR", ROOT / ".run" / "logs")))
    say = Output(system.log_dir)
    shutdown = Shutdown(system)
    shutdown.install()
    try:
        return supervise(system, names, settings_from(env), shutdown, say, sandbox=sandbox)
    finally:
        if alive := system.alive():
            say(f"stopping {', '.join(alive)}…")
        system.stop(timeout=STOP_SECONDS)
        say("stopped")


def supervise(system: System, names: list[str], settings: PostifysSettings, shutdown: Shutdown,
              say: Callable[[str], None], *, sandbox: bool) -> int:
    supervisor = Supervisor(system, names, say, stopping=lambda: shutdown.requested)
    for name in names:
        if shutdown.requested:
            return 0
        system.start_one(name)
    deadline = time.monotonic() + READY_SECONDS
    announced = False
    while not shutdown.requested:
        if (failing := supervisor.tick()) is not None:
            log = system.log_path(failing.name)
            say(f"{failing.name} keeps dying at start-up ({failing.deaths} times in a row without becoming ready); "
                f"giving up. Its log: {log}\n{last_lines(log).rstrip()}")
            return 1
        if not announced and not supervisor.pending():
            announced = True
            print(f"\nPostifys is running at {settings.public_url}  (logs in {system.log_dir})")
            if sandbox:
                print(f"Facebook, Instagram and TikTok are the local sandbox at {settings.sandbox_url} "
                      "(set real credentials and POSTIFYS_SANDBOX=0 for the real platforms)")
            if DEVMAIL in names:
                print(f"Mail goes to the development mailbox: {settings.public_url}/dev/mailbox")
            print("A service that stops is started again. Press Ctrl-C to stop everything (twice: kill it now).\n",
                  flush=True)
        elif not announced and time.monotonic() > deadline:
            say(f"not ready after {READY_SECONDS:g}s: {', '.join(supervisor.pending())}; logs in {system.log_dir}")
            return 1
        time.sleep(0.25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
