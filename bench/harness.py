"""A separate, throw-away copy of the whole system for one benchmark: own database, broker prefix, ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from deploy.devmail import Mailbox, start_smtp
from deploy.system import System, drop_database, free_port, isolated_environment, prepare_database, with_database

RESULTS = Path(__file__).parent / "results"
UNLIMITED_GATEWAY = {"POSTIFYS_RATE_LIMIT_PER_MINUTE": "10000000", "POSTIFYS_RATE_LIMIT_BURST": "100000",
                     "POSTIFYS_LOG_LEVEL": "WARNING"}


@contextlib.contextmanager
def running_system(extra: dict[str, str] | None = None) -> Iterator[System]:
    run_id = secrets.token_hex(4)
    server = os.environ.get("POSTIFYS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    database_url = with_database(server, f"postifys_bench_{run_id}")
    prepare_database(database_url)
    smtp_port = free_port()
    smtp = start_smtp(Mailbox(), "127.0.0.1", smtp_port)
    env = isolated_environment(
        database_url=database_url, amqp_url=os.environ.get("POSTIFYS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        smtp_url=f"smtp://127.0.0.1:{smtp_port}", prefix=f"postifys-bench-{run_id}",
        extra={**UNLIMITED_GATEWAY, **(extra or {})})
    system = System(env=env, log_dir=Path(tempfile.mkdtemp(prefix="postifys-bench-")))
    try:
        system.start_all(with_sandbox=True)
        system.wait_ready(timeout=90)
        yield system
    finally:
        system.stop()
        smtp.stop()
        asyncio.run(drop_database(database_url))


def run_and_report(name: str, measure: Callable[[System], Coroutine[Any, Any, dict[str, Any]]],
                   extra: dict[str, str] | None = None) -> None:
    with running_system(extra) as system:
        results = asyncio.run(measure(system))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
