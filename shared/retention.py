"""Retention: each service deletes the rows it no longer needs on a schedule, and counts what went."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

from shared.db import delete_rows
from shared.runtime import ServiceRuntime, repeat

log = structlog.get_logger()

PURGED = Counter("postifys_retention_purged_total", "Rows deleted by retention purges", ["service", "kind"])
# Rows per DELETE and per transaction: a purge never holds many row locks, nor for long.
BATCH_SIZE = 1000

Condition = Callable[[datetime], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class RetentionRule:
    kind: str
    model: type[DeclarativeBase]
    expired: Condition  # the rows of `model` that are no longer needed at a given time


def older_than(column: InstrumentedAttribute[datetime], age: timedelta) -> Condition:
    return lambda now: column < now - age


async def purge(session: AsyncSession, rules: Sequence[RetentionRule], now: datetime,
                batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Deletes up to one batch of expired rows per rule; how many went, by kind."""
    return {rule.kind: await _delete_batch(session, rule, now, batch_size) for rule in rules}


async def _delete_batch(session: AsyncSession, rule: RetentionRule, now: datetime, batch_size: int) -> int:
    key = sa.inspect(rule.model).primary_key
    # Rows another transaction holds are left for the next round rather than waited for.
    batch = sa.select(*key).where(rule.expired(now)).limit(batch_size).with_for_update(skip_locked=True)
    return await delete_rows(session, sa.delete(rule.model).where(sa.tuple_(*key).in_(batch)))


async def purge_expired(runtime: ServiceRuntime, rules: Sequence[RetentionRule], now: datetime,
                        batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Deletes every row expired at `now`, one batch per rule per transaction; how many went, by kind."""
    purged = dict.fromkeys((rule.kind for rule in rules), 0)
    pending = list(rules)
    while pending:
        async with runtime.transaction() as session:
            counts = await purge(session, pending, now, batch_size)
        # Counted per committed batch, so that the metric stays true when a later batch fails.
        for kind, count in counts.items():
            purged[kind] += count
            PURGED.labels(service=runtime.service, kind=kind).inc(count)
        pending = [rule for rule in pending if counts[rule.kind] == batch_size]
    return purged


async def retention_round(runtime: ServiceRuntime, rules: Sequence[RetentionRule], now: datetime) -> dict[str, int]:
    purged = await purge_expired(runtime, rules, now)
    # Counts only; the `_count` suffix also keeps kinds such as email_tokens clear of the log redaction.
    log.info("Retention purge done", **{f"{kind}_count": count for kind, count in purged.items()})
    return purged


async def run_retention(runtime: ServiceRuntime, rules: Sequence[RetentionRule], interval: float, *,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
    """Purges now, then every `interval` seconds, until cancelled; a failed round is logged and retried."""
    await repeat(interval, lambda: retention_round(runtime, rules, clock()), "Retention purge failed", sleep=sleep)


def keep_purging(runtime: ServiceRuntime, rules: Sequence[RetentionRule], interval: float) -> None:
    runtime.in_background(lambda: run_retention(runtime, rules, interval))
